"""A real HTTP upstream on 127.0.0.1 that records what it receives and misbehaves on request.

Paths (after any base path) choose the behaviour:
  /echo...            JSON of method, path, query, headers, body length and sha256 (the default)
  /sleep/<ms>         wait before sending headers (header timeouts)
  /drip               send headers, then a byte every 200 ms for a long time (total deadlines)
  /reset              promise 100000 bytes, send 1000, then reset the connection
  /bytes/<n>          stream n bytes of a fixed pattern
  /status/<code>      answer that status
  /hop                answer with hop-by-hop and Connection-listed headers that must not reach the caller
  /forge              answer with its own copies of the headers the gateway sets on every response
"""

import asyncio
import hashlib
import json
import threading
from dataclasses import dataclass, field

from aiohttp import web
from multidict import CIMultiDict


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    complete: bool = False

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass
class RecordingUpstream:
    host: str = "127.0.0.1"
    port: int = 0
    received: list[Received] = field(default_factory=list)
    port_open: bool = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def complete(self) -> list[Received]:
        return [r for r in self.received if r.complete]

    def clear(self) -> None:
        self.received.clear()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers]
        entry = Received(request.method, request.raw_path.split("?", 1)[0], request.query_string, headers)
        self.received.append(entry)
        entry.body = await request.read()
        entry.complete = True
        segments = [s for s in entry.path.split("/") if s]
        position = next((i for i, s in enumerate(segments) if s in BEHAVIOURS), None)
        if position is None:
            return await _echo(request, entry, "")
        arg = segments[position + 1] if position + 1 < len(segments) else ""
        return await BEHAVIOURS[segments[position]](request, entry, arg)

    def start(self) -> "RecordingUpstream":
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            app = web.Application(client_max_size=64 * 1024 * 1024)
            app.router.add_route("*", "/{tail:.*}", self.handle)
            runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, self.port)  # 0 the first time; the same port on a restart
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]
            self._loop, self._runner = loop, runner
            ready.set()
            loop.run_forever()

        threading.Thread(target=serve, name="test-upstream", daemon=True).start()
        ready.wait(5)
        self.port_open = True
        return self

    def stop(self) -> None:
        """Close the socket and its connections (a dead upstream); `start()` reopens the same port."""
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self.port_open = False


async def _echo(request, entry: Received, arg: str):
    return web.json_response(
        {
            "method": entry.method,
            "path": entry.path,
            "query": entry.query,
            "headers": entry.headers,
            "body_length": len(entry.body),
            "body_sha256": hashlib.sha256(entry.body).hexdigest(),
            "body": entry.body.decode("utf-8", "replace") if len(entry.body) < 65536 else "",
        }
    )


async def _sleep(request, entry, arg: str):
    await asyncio.sleep(int(arg or "1000") / 1000)
    return web.json_response({"slept_ms": int(arg or "1000")})


async def _drip(request, entry, arg):
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    for _ in range(600):
        await response.write(b".")
        await asyncio.sleep(0.2)
    return response


async def _reset(request, entry, arg):
    response = web.StreamResponse(headers={"Content-Length": "100000"})
    await response.prepare(request)
    await response.write(b"x" * 1000)
    await asyncio.sleep(0.05)
    request.transport.abort()
    return response


PATTERN = bytes(range(256)) * 256


async def _bytes(request, entry, arg: str):
    remaining = int(arg or "0")
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    while remaining > 0:
        chunk = PATTERN[: min(len(PATTERN), remaining)]
        await response.write(chunk)
        remaining -= len(chunk)
    await response.write_eof()
    return response


async def _status(request, entry, arg: str):
    return web.json_response({"status": int(arg)}, status=int(arg))


async def _hop(request, entry, arg):
    return web.Response(
        text="{}",
        content_type="application/json",
        headers={
            "Connection": "keep-alive, X-Secret-Hop",
            "X-Secret-Hop": "1",
            "Keep-Alive": "timeout=5",
            "Proxy-Authenticate": "Basic",
            "Upgrade": "h2c",
            "Trailer": "X-T",
            "X-End-To-End": "kept",
        },
    )


async def _forge(request, entry, arg):
    forged = [
        ("X-Request-Id", "forged-id"),
        ("X-Knoxcall-Environment", "production"),
        ("X-Knoxcall-Route", "forged"),
        ("X-RateLimit-Remaining", "999999"),
        ("Via", "1.1 upstream"),
    ]
    return web.Response(text="{}", content_type="application/json", headers=CIMultiDict(forged))


BEHAVIOURS = {
    "echo": _echo,
    "sleep": _sleep,
    "drip": _drip,
    "reset": _reset,
    "bytes": _bytes,
    "status": _status,
    "hop": _hop,
    "forge": _forge,
}


def pattern_bytes(n: int) -> bytes:
    whole, rest = divmod(n, len(PATTERN))
    return PATTERN * whole + PATTERN[:rest]


def echo_json(response) -> dict:
    return json.loads(response.content)
