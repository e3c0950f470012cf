"""A real gateway in its own process: a supported server (knoxcall/lib/servers.py) serving knoxcall.asgi on
127.0.0.1 exactly as `make run` starts it, sharing the test DB."""

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx

from knoxcall.lib.servers import SERVERS, Limits, server_command

DEFAULT_SERVER = SERVERS[0]  # `make run`'s default (KNOXCALL_SERVER)

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """DATABASE_URL of the database the tests run on (SQLite file or PostgreSQL), for other processes."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class GatewayProcess:
    """The gateway under one of the supported servers in a process of its own, on the tests' database."""

    def __init__(self, env: dict[str, str] | None = None, server: str = DEFAULT_SERVER) -> None:
        self.port = free_port()
        self.server = server
        self.env = {**os.environ, "DATABASE_URL": test_database_url(), "PORT": str(self.port), **(env or {})}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "GatewayProcess":
        self.process = subprocess.Popen(
            server_command(self.server, "127.0.0.1", self.port, Limits(), quiet=True),
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 90  # a loaded CI machine can take a while to import Django
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gateway on port {self.port} did not start")

    def stop(self) -> None:
        """SIGTERM, as an orchestrator would: a clean shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
