"""A real gateway in its own process: uvicorn serving knoxcall.asgi on 127.0.0.1, sharing the test DB."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

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
    """The gateway under uvicorn (or daphne) in a process of its own, on the tests' database."""

    def __init__(self, env: dict[str, str] | None = None, server: str = "uvicorn") -> None:
        self.port = free_port()
        self.server = server
        self.env = {**os.environ, "DATABASE_URL": test_database_url(), "PORT": str(self.port), **(env or {})}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "GatewayProcess":
        app, port = "knoxcall.asgi:application", str(self.port)
        command = {
            "uvicorn": [
                "-m",
                "uvicorn",
                app,
                "--host",
                "127.0.0.1",
                "--port",
                port,
                "--no-access-log",
                "--no-proxy-headers",
                "--log-level",
                "warning",
            ],
            "daphne": ["-m", "daphne", "-b", "127.0.0.1", "-p", port, app],
        }[self.server]
        self.process = subprocess.Popen(
            [sys.executable, *command],
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
