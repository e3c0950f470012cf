"""The Python ceiling for the proxy benchmark: a bare ASGI app forwarding to one upstream.

No routing, checks, injection or logging: what uvicorn and an upstream client cost on this machine, measured
in the same run as the gateway so the gateway's own overhead can be read off (PERFORMANCE.md's last row).
BENCH_CLIENT chooses the client: `aiohttp` (the yardstick issue 17 names) or `http1`, the gateway's own
(routing/proxy/http1.py), so the cost of the gateway's checks can also be read against the same client.
Run: `BENCH_UPSTREAM=http://127.0.0.1:PORT [BENCH_CLIENT=http1] uvicorn bench.ceiling_app:app`.
"""

import os

UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:8001")
CLIENT = os.environ.get("BENCH_CLIENT", "aiohttp")
_client = None


async def _lifespan(receive, send) -> None:
    while (await receive())["type"] != "lifespan.shutdown":
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


async def _aiohttp(path: str) -> tuple[int, list, bytes]:
    global _client
    import aiohttp

    _client = _client or aiohttp.ClientSession(auto_decompress=False)
    async with _client.get(UPSTREAM + path) as response:
        body = await response.read()
        headers = [(k.lower(), v) for k, v in response.raw_headers if k.lower() not in (b"connection",)]
        return response.status, headers, body


async def _http1(path: str) -> tuple[int, list, bytes]:
    global _client
    from routing.proxy.http1 import Http1Client
    from routing.proxy.upstream import Timeouts

    _client = _client or Http1Client()
    response = await _client.send("GET", UPSTREAM + path, [(b"host", b"bench")], None, Timeouts(5, 30, 30))
    try:
        body = b"".join([chunk async for chunk in response.chunks()])
    finally:
        await response.release()
    return response.status, [(k.lower(), v) for k, v in response.headers if k.lower() != b"connection"], body


FORWARD = {"aiohttp": _aiohttp, "http1": _http1}[CLIENT]


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        return
    status, headers, body = await FORWARD(scope["path"])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
