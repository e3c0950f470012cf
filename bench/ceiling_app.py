"""The Python ceiling for the proxy benchmark: a bare ASGI app forwarding to one upstream with aiohttp.

No routing, checks, injection or logging: what uvicorn + aiohttp cost on this machine, measured in the same
run as the gateway so the gateway's own overhead can be read off (PERFORMANCE.md's last row).
Run: `BENCH_UPSTREAM=http://127.0.0.1:PORT uvicorn bench.ceiling_app:app`.
"""

import os

import aiohttp

UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:8001")
_session: aiohttp.ClientSession | None = None


async def app(scope, receive, send) -> None:
    global _session
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        return
    _session = _session or aiohttp.ClientSession(auto_decompress=False)
    async with _session.get(UPSTREAM + scope["path"]) as response:
        body = await response.read()
        headers = [(k.lower(), v) for k, v in response.raw_headers if k.lower() not in (b"connection",)]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
