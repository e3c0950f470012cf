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


class GatewayProcess:
    def __init__(self, database_path: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = {**os.environ, "DATABASE_URL": f"sqlite:///{database_path}", **env}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "GatewayProcess":
        command = [sys.executable, "-m", "uvicorn", "knoxcall.asgi:application", "--host", "127.0.0.1",
                   "--port", str(self.port), "--no-access-log", "--no-proxy-headers",
                   "--log-level", "warning"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)
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
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
