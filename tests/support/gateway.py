"""The real gateway for tests: the project's ASGI application under uvicorn on 127.0.0.1, in a thread,
with the HTTP protocol and limits `make run` uses (knoxcall/lib/http_protocol.py)."""

import asyncio
import socket
import threading
import time

import uvicorn

from knoxcall.lib.http_protocol import LimitedHttpToolsProtocol


class GatewayServer:
    def __init__(self, app) -> None:
        self.app = app
        self.port = 0
        self.thread: threading.Thread | None = None
        self.server: uvicorn.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "GatewayServer":
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        # proxy_headers=False: the gateway resolves the caller itself with TRUSTED_PROXIES; uvicorn's
        # default would rewrite the peer from X-Forwarded-For for any 127.0.0.1 caller.
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=1,
            proxy_headers=False,
            http=LimitedHttpToolsProtocol,
            server_header=False,
            date_header=False,
        )
        self.server = uvicorn.Server(config)

        def serve() -> None:
            asyncio.run(self.server.serve(sockets=[sock]))

        self.thread = threading.Thread(target=serve, name="gateway", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(5)


def run_in_fresh_loop(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright keeps a loop on the main thread."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
