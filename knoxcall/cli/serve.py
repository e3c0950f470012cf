"""`manage.py knoxcall serve`: the production entry point, the gateway in N server processes on one machine.

It checks that N processes can share this configuration (more than one needs PostgreSQL and Redis), then
replaces itself with uvicorn exactly as `make run` starts it (knoxcall/lib/servers.py) plus `--workers N`, so
signals reach uvicorn's supervisor directly: SIGINT or SIGTERM stops every worker and exits 0, and a worker
that dies is replaced. Each worker runs the ASGI lifespan, so each has its own route-table watcher (woken by
Redis pub/sub), request-log recorder and API-key usage flusher. It neither migrates nor loads the demo:
run `manage.py migrate` once per release, and Celery worker and beat beside it.
"""

import os
import sys

from django.conf import settings
from django.db import connections

from knoxcall.lib.servers import SERVERS, Limits, server_command

from .run import WORKERS_HELP, port_is_free, positive_int, refusal


def configure(parser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="Address to listen on (0.0.0.0: every interface)."
    )
    parser.add_argument("--port", type=int, default=settings.GATEWAY_PORT)
    parser.add_argument("--workers", type=positive_int, default=settings.GATEWAY_WORKERS, help=WORKERS_HELP)
    parser.add_argument("--server", choices=SERVERS, default=settings.GATEWAY_SERVER)


def handle(options: dict, out) -> None:
    server, workers, host, port = options["server"], options["workers"], options["host"], options["port"]
    reason = refusal(server, workers)
    if reason:
        raise SystemExit(reason)
    if host in ("127.0.0.1", "0.0.0.0") and not port_is_free(port):
        raise SystemExit(f"Port {port} is in use: stop what holds it, or pick another with --port.")
    command = server_command(server, host, port, Limits.from_settings(), workers=workers)
    out.write(f"Serving on http://{host}:{port} with {workers} worker process{'es' if workers > 1 else ''}.")
    sys.stdout.flush()
    sys.stderr.flush()
    connections.close_all()  # nothing of this process survives the exec but its environment
    os.execv(command[0], command)
