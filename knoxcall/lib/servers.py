"""The command line of each supported ASGI server, with the gateway's limits applied.

One place for `make run` (knoxcall/cli/run.py), the real-server tests and the benchmark, so all three run the
gateway exactly as it is deployed. Only uvicorn is supported: with the httptools parser and
knoxcall/lib/http_protocol.py's header limits it is the one candidate that refused every request of the
framing corpus that nginx refuses (README "Server choice"; granian, uvicorn's h11 parser and daphne each let
some through before the application could see them).

With `workers` above 1 the command runs uvicorn's own supervisor (`--workers N`): it binds the socket once,
starts N spawned worker processes that accept on it, replaces a worker that dies or stops answering its
health check, and stops them all on SIGINT/SIGTERM, exiting 0. It was measured against gunicorn with uvicorn
workers (bench/workers.py, README "Workers") and needs no further dependency.
"""

import sys
from dataclasses import dataclass

APP = "knoxcall.asgi:application"
SERVERS = ("uvicorn",)  # KNOXCALL_SERVER's values; the first is the default
HTTP_PROTOCOL = "knoxcall.lib.http_protocol:LimitedHttpToolsProtocol"


@dataclass(frozen=True)
class Limits:
    """Limits given on the command line (the header limits are read from settings by the protocol)."""

    keepalive_timeout: int = 5

    @classmethod
    def from_settings(cls) -> "Limits":
        from django.conf import settings

        return cls(keepalive_timeout=settings.GATEWAY_KEEPALIVE_TIMEOUT)


def unsupported_reason(server: str) -> str | None:
    if server in SERVERS:
        return None
    return (
        f"KNOXCALL_SERVER={server!r} is not supported; use one of {', '.join(SERVERS)}. daphne and granian "
        "let malformed requests through that nginx refuses (README, 'Server choice')."
    )


def multi_worker_refusal(workers: int, database_engine: str, redis_url: str) -> str | None:
    """Why `workers` processes cannot share this configuration, in one line; None when they can.

    One process may use the embedded defaults. Several must share their state: with SQLite every worker's
    recorder competes for one writer lock, and without Redis each worker keeps its own rate-limit counters,
    login throttles, cache and live-dashboard channel, so a limit of 100 would let N × 100 calls through.
    """
    if workers <= 1:
        return None
    missing, because = [], []
    if not database_engine.endswith("postgresql"):
        missing.append("DATABASE_URL=postgres://…")
        because.append("SQLite has one writer for every worker's request logs")
    if not redis_url:
        missing.append("REDIS_URL=redis://…")
        because.append("without Redis each worker counts its own rate limits and login throttles")
    if not missing:
        return None
    setting, reason = " and ".join(missing), "; ".join(because)
    return f"{workers} workers need shared state: set {setting} ({reason}), or run 1 worker."


def server_command(
    server: str, host: str, port: int, limits: Limits, *, quiet: bool = False, workers: int = 1
) -> list[str]:
    reason = unsupported_reason(server)
    if reason:
        raise ValueError(reason)
    # --no-proxy-headers: only TRUSTED_PROXIES (knoxcall/lib/client_ip.py) decides who the caller is;
    # uvicorn's own X-Forwarded-For handling would trust any local peer and let it spoof its address.
    command = [sys.executable, "-m", "uvicorn", APP, "--host", host, "--port", str(port)]
    command += [
        "--http",
        HTTP_PROTOCOL,
        "--timeout-keep-alive",
        str(limits.keepalive_timeout),
        "--no-access-log",
        "--no-proxy-headers",
        # No `server: uvicorn` (it names the software to every caller) and no Date of uvicorn's: a proxied
        # answer keeps the upstream's, the gateway dates its own (knoxcall/lib/http_date.py).
        "--no-server-header",
        "--no-date-header",
    ]
    if workers > 1:
        command += ["--workers", str(workers)]
    return command + (["--log-level", "warning"] if quiet else [])
