"""`make run`'s command: first run prepares everything and serves; a second run (KNOXCALL_SERVER=uvicorn)
reuses it; Ctrl-C stops every process it started."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(data_dir: Path, port: int, upstream_port: int, *args: str, **extra_env) -> subprocess.Popen:
    env = {
        **os.environ,
        "KNOXCALL_DATA_DIR": str(data_dir),
        "KNOXCALL_DEMO_UPSTREAM_PORT": str(upstream_port),
        "PORT": str(port),
        "KNOXCALL_ADMIN_PASSWORD": "",
        **extra_env,
    }
    env.pop("DATABASE_URL", None)  # the embedded profile: SQLite in the data dir
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.Popen(
        [sys.executable, "manage.py", "knoxcall", "run", "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for_proxy(port: int, environment: str | None = None) -> httpx.Response:
    headers = {"x-knoxcall-route": "demo"} | ({"x-knoxcall-environment": environment} if environment else {})
    deadline = time.monotonic() + 60
    while True:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/hello?x=1", headers=headers, timeout=5)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "make run did not serve the demo route within 60 s"
        time.sleep(0.5)


def interrupt(process: subprocess.Popen) -> str:
    children = psutil.Process(process.pid).children(recursive=True)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    output, _ = process.communicate(timeout=30)
    gone, alive = psutil.wait_procs(children, timeout=15)
    assert alive == [], f"still running after Ctrl-C: {[p.cmdline() for p in alive]}"
    return output


def test_it_serves_the_demo_and_stops_everything_on_ctrl_c(tmp_path):
    port, upstream_port = free_port(), free_port()
    process = start(tmp_path, port, upstream_port)
    try:
        staging = wait_for_proxy(port, "staging").json()
        production = wait_for_proxy(port).json()
        assert (staging["served_by"], staging["path"], staging["query"]) == (
            "staging",
            "/staging/hello",
            "x=1",
        )
        assert (production["served_by"], production["path"]) == ("production", "/production/hello")
        login = httpx.get(f"http://127.0.0.1:{port}/admin/login/", timeout=5)
        assert login.status_code == 200 and "csrfmiddlewaretoken" in login.text
    finally:
        output = interrupt(process)
    assert process.returncode == 0, output[-2000:]  # Ctrl-C is a clean stop: make prints no "Error 1"
    assert "Unclosed client session" not in output and "Traceback" not in output
    assert "Administrator created: username 'admin', password " in output
    for line in (
        f"Console:  http://127.0.0.1:{port}/ ",
        f"Admin:    http://127.0.0.1:{port}/admin/",
        f"API docs: http://127.0.0.1:{port}/v1/docs",
    ):
        assert line in output
    assert (tmp_path / "knoxcall.sqlite3").exists()

    second = start(tmp_path, port, upstream_port, "--no-worker", KNOXCALL_SERVER="uvicorn")
    try:
        assert wait_for_proxy(port, "development").json()["served_by"] == "development"
    finally:
        output = interrupt(second)
    assert "Demo already present." in output
    assert "Administrator 'admin' exists; password unchanged." in output


def test_it_refuses_a_server_that_failed_the_framing_corpus(tmp_path):
    process = start(tmp_path, free_port(), free_port(), "--no-worker", KNOXCALL_SERVER="daphne")
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "KNOXCALL_SERVER='daphne' is not supported" in output
    assert "Database ready" not in output  # refused before migrating or starting anything


def test_a_second_run_says_in_one_line_that_the_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start(tmp_path, port, free_port(), "--no-worker")
        output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert f"Port {port} is in use" in output and "PORT=" in output
    assert "Traceback" not in output


def test_the_demo_upstream_moves_to_a_free_port_and_the_demo_route_follows(tmp_path):
    port, usual = free_port(), free_port()
    first = start(tmp_path, port, usual, "--no-worker")  # creates the demo route on the usual port
    try:
        wait_for_proxy(port, "staging")
    finally:
        interrupt(first)
    with socket.socket() as taken:  # now someone else holds the demo upstream's usual port
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", usual))
        taken.listen()
        second = start(tmp_path, port, usual, "--no-worker")
        try:
            staging = wait_for_proxy(port, "staging").json()
            production = wait_for_proxy(port).json()
        finally:
            output = interrupt(second)
    assert f"Port {usual} is busy: the demo upstream listens on" in output
    assert (staging["path"], production["path"]) == ("/staging/hello", "/production/hello")
    assert second.returncode == 0
