"""Nothing recorded is lost on a clean shutdown: queued request logs are written before the process exits."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from analytics.models import RequestLog
from environments.audit import SYSTEM
from routing.services import route_create
from tests.support.access import allow_local_callers

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def serve(server: str, port: int) -> subprocess.Popen:
    app = "knoxcall.asgi:application"
    command = {
        "uvicorn": [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--no-proxy-headers"],
        "daphne": [sys.executable, "-m", "daphne", "-p", str(port), app],
    }[server]
    env = {**os.environ, "DATABASE_URL": database_url(), "PORT": str(port),
           # Nothing is flushed on the way: every row must come from the shutdown flush.
           "KNOXCALL_RECORDER_FLUSH_SECONDS": "3600", "KNOXCALL_RECORDER_BATCH_SIZE": "100000"}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_it_writes_every_queued_log_on_a_clean_shutdown(environments, upstream, server):
    allow_local_callers(route_create(actor=SYSTEM, name="Demo", slug="demo", target_base_url=upstream.url))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = serve(server, port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, f"{server} did not start"
                time.sleep(0.2)
        ids = {httpx.get(f"http://127.0.0.1:{port}/n/{i}", headers={"x-knoxcall-route": "demo"}).headers[
            "x-request-id"] for i in range(25)}
        assert RequestLog.objects.filter(request_id__in=ids).count() == 0  # still queued in the gateway
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    assert set(RequestLog.objects.filter(request_id__in=ids).values_list("request_id", flat=True)) == ids
