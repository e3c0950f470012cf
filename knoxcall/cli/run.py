"""`make run`: prepare the data dir, then supervise every process of the embedded profile.

It migrates, loads the demo, makes sure an administrator exists, then starts the demo upstream, the ASGI
server (KNOXCALL_SERVER: uvicorn with httptools and the gateway's header limits, the one server that passed
the framing corpus; see knoxcall/lib/servers.py) in KNOXCALL_WORKERS processes (more than one needs
PostgreSQL and Redis), a Celery worker and Celery beat. Ctrl-C (or any
child exiting) stops them all. Everything it writes lives under KNOXCALL_DATA_DIR, so a second run reuses it.
"""

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from knoxcall.lib.servers import SERVERS, Limits, multi_worker_refusal, server_command, unsupported_reason

from .demo import load_demo

ADMIN_USERNAME = "admin"


def configure(parser) -> None:
    parser.add_argument("--port", type=int, default=settings.GATEWAY_PORT)
    parser.add_argument("--server", choices=SERVERS, default=settings.GATEWAY_SERVER)
    parser.add_argument("--no-worker", action="store_true", help="Do not start the Celery worker and beat.")
    parser.add_argument("--workers", type=positive_int, default=settings.GATEWAY_WORKERS, help=WORKERS_HELP)


WORKERS_HELP = "Server processes (default KNOXCALL_WORKERS, 1); more than 1 needs PostgreSQL and Redis."


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def refusal(server: str, workers: int) -> str | None:
    """What stops this server configuration from being served, in one line (also `knoxcall serve`'s)."""
    engine = settings.DATABASES["default"]["ENGINE"]
    return unsupported_reason(server) or multi_worker_refusal(workers, engine, settings.REDIS_URL)


def ensure_admin(out) -> None:
    User = get_user_model()
    password = os.environ.get("KNOXCALL_ADMIN_PASSWORD", "")
    user = User.objects.filter(username=ADMIN_USERNAME).first()
    if user is not None:
        if password:
            user.set_password(password)
            user.save(update_fields=["password"])
            out.write(f"Administrator '{ADMIN_USERNAME}': password set from KNOXCALL_ADMIN_PASSWORD.")
        else:
            out.write(f"Administrator '{ADMIN_USERNAME}' exists; password unchanged.")
        return
    generated = not password
    password = password or secrets.token_urlsafe(12)
    User.objects.create_superuser(ADMIN_USERNAME, "", password)
    shown = password if generated else "(from KNOXCALL_ADMIN_PASSWORD)"
    out.write(f"Administrator created: username '{ADMIN_USERNAME}', password {shown}")


def port_is_free(port: int) -> bool:
    """Whether a server could listen there now (SO_REUSEADDR, as servers bind: TIME_WAIT is not busy)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def any_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def demo_upstream_port(out) -> int:
    """The configured port, or a free one when it is busy (another `make run`); the demo route follows."""
    port = settings.DEMO_UPSTREAM_PORT
    if port_is_free(port):
        return port
    chosen = any_free_port()
    out.write(
        f"Port {port} is busy: the demo upstream listens on {chosen} instead and the demo route follows it "
        "(KNOXCALL_DEMO_UPSTREAM_PORT chooses the port)."
    )
    return chosen


def _commands(
    port: int, demo_port: int, server: str, workers: int, with_worker: bool
) -> dict[str, list[str]]:
    python = sys.executable
    serve = server_command(server, "127.0.0.1", port, Limits.from_settings(), workers=workers)
    commands = {
        "demo-upstream": [python, "-m", "knoxcall.lib.demo_upstream", "--port", str(demo_port)],
        server: serve,
    }
    if with_worker:
        celery = [python, "-m", "celery", "-A", "knoxcall"]
        commands["worker"] = [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"]
        commands["beat"] = [*celery, "beat", "--loglevel", "INFO", "-s", settings.CELERY_BEAT_SCHEDULE_FILE]
    return commands


def _stop_all(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def addresses(port: int) -> str:
    base = f"http://127.0.0.1:{port}"
    return (
        f"\nConsole:  {base}/  (sign in as {ADMIN_USERNAME})\n"
        f"Admin:    {base}/admin/\n"
        f"API docs: {base}/v1/docs  (schema: {base}/v1/openapi.json)\n"
        f"Proxy:    curl -H 'x-knoxcall-route: demo' -H 'x-knoxcall-environment: staging' {base}/hello?x=1\n"
        f"API key:  {sys.executable} manage.py knoxcall apikey create --name ops --role administrator\n"
        f"Data dir: {settings.DATA_DIR}\nCtrl-C stops everything.\n"
    )


class _Stop(Exception):
    """Ctrl-C or SIGTERM reached the supervisor: a clean stop, not a failure."""


def _raise_stop(*_) -> None:
    raise _Stop


def supervise(commands: dict[str, list[str]], out) -> int:
    """Run every command until Ctrl-C (exit 0) or until one exits on its own (its code, at least 1).

    Ctrl-C reaches the whole foreground process group, so the children begin their own shutdown at the same
    moment; the handlers are installed explicitly (a shell may start us with SIGINT ignored), and a child
    that exits once the stop has begun is part of that stop, not a failure.
    """
    env = {**os.environ, "PORT": os.environ.get("PORT", ""), "PYTHONUNBUFFERED": "1"}
    env = {k: v for k, v in env.items() if v}
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    processes: dict[str, subprocess.Popen] = {}
    try:
        for name, cmd in commands.items():
            processes[name] = subprocess.Popen(cmd, env=env)
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    out.write(f"{name} exited with {process.returncode}; stopping the rest.")
                    return process.returncode or 1
            time.sleep(0.5)
    except _Stop:
        out.write("Stopping…")
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
        _stop_all(processes)
        out.write("Stopped.")


def handle(options: dict, out) -> None:
    reason = refusal(options["server"], options["workers"])
    if reason:
        raise SystemExit(reason)
    port = options["port"]
    if not port_is_free(port):
        raise SystemExit(
            f"Port {port} is in use (another `make run`?): stop it, or pick another port: make run PORT=8010"
        )
    call_command("migrate", interactive=False, verbosity=0)
    out.write("Database ready at " + str(settings.DATABASES["default"]["NAME"]))
    demo_port = demo_upstream_port(out)
    out.write("Demo loaded." if load_demo(demo_port) else "Demo already present.")
    ensure_admin(out)
    os.environ["PORT"] = str(port)
    out.write(addresses(port))
    commands = _commands(port, demo_port, options["server"], options["workers"], not options["no_worker"])
    code = supervise(commands, out)
    if code:
        raise SystemExit(code)
