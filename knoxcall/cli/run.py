"""`make run`: prepare the data dir, then supervise every process of the embedded profile.

It migrates, loads the demo, makes sure an administrator exists, then starts the demo upstream, the ASGI
server (KNOXCALL_SERVER: uvicorn with httptools and the gateway's header limits, the one server that passed
the framing corpus; see knoxcall/lib/servers.py), a Celery worker and Celery beat. Ctrl-C (or any
child exiting) stops them all. Everything it writes lives under KNOXCALL_DATA_DIR, so a second run reuses it.
"""

import os
import secrets
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from knoxcall.lib.servers import SERVERS, Limits, server_command, unsupported_reason

from .demo import load_demo

ADMIN_USERNAME = "admin"


def configure(parser) -> None:
    parser.add_argument("--port", type=int, default=settings.GATEWAY_PORT)
    parser.add_argument("--server", choices=SERVERS, default=settings.GATEWAY_SERVER)
    parser.add_argument("--no-worker", action="store_true", help="Do not start the Celery worker and beat.")


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


def _commands(port: int, server: str, with_worker: bool) -> dict[str, list[str]]:
    python = sys.executable
    serve = server_command(server, "127.0.0.1", port, Limits.from_settings())
    commands = {
        "demo-upstream": [
            python,
            "-m",
            "knoxcall.lib.demo_upstream",
            "--port",
            str(settings.DEMO_UPSTREAM_PORT),
        ],
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


def supervise(commands: dict[str, list[str]], out) -> int:
    env = {**os.environ, "PORT": os.environ.get("PORT", ""), "PYTHONUNBUFFERED": "1"}
    env = {k: v for k, v in env.items() if v}
    processes = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    out.write(f"{name} exited with {process.returncode}; stopping the rest.")
                    return process.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        out.write("Stopping…")
        return 0
    finally:
        _stop_all(processes)


def handle(options: dict, out) -> None:
    reason = unsupported_reason(options["server"])
    if reason:
        raise SystemExit(reason)
    call_command("migrate", interactive=False, verbosity=0)
    out.write("Database ready at " + str(settings.DATABASES["default"]["NAME"]))
    out.write("Demo loaded." if load_demo() else "Demo already present.")
    ensure_admin(out)
    port = options["port"]
    os.environ["PORT"] = str(port)
    out.write(
        f"\nConsole:  http://127.0.0.1:{port}/admin/\n"
        f"Proxy:    curl -H 'x-knoxcall-route: demo' -H 'x-knoxcall-environment: staging' "
        f"http://127.0.0.1:{port}/hello?x=1\n"
        f"API key:  {sys.executable} manage.py knoxcall apikey create --name ops --role administrator\n"
        f"Data dir: {settings.DATA_DIR}\nCtrl-C stops everything.\n"
    )
    code = supervise(_commands(port, options["server"], not options["no_worker"]), out)
    if code:
        raise SystemExit(code)
