"""Gateway req/s with authentication and rate limiting on versus off, in the same run (prints, never asserts).

    .venv/bin/python bench/access.py [--seconds 5] [--connections 50] [--redis redis://127.0.0.1:6379/4]

"off": a route callable from 127.0.0.1 by IP with no key and no rate limit (the cheapest access check).
"on": the same route called with an API key (hash lookup), the client IP allowlist, and a route rate limit
plus a key rate limit high enough never to refuse (counted in memory, or in Redis with --redis).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(data_dir: str, redis_url: str) -> None:
    os.environ.update(KNOXCALL_DATA_DIR=data_dir, REDIS_URL=redis_url,
                      DJANGO_SETTINGS_MODULE="knoxcall.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(upstream_url: str) -> str:
    from environments.audit import SYSTEM
    from environments.services import api_key_create
    from routing.services import route_create
    from tests.support.access import allow_local_callers

    allow_local_callers(route_create(actor=SYSTEM, name="off", slug="off", target_base_url=upstream_url))
    allow_local_callers(route_create(actor=SYSTEM, name="on", slug="on", target_base_url=upstream_url,
                                     rate_limit_enabled=True, rate_limit_requests=10**9,
                                     rate_limit_window_sec=60))
    _, raw_key = api_key_create(actor=SYSTEM, name="bench", role="viewer", rate_limit_requests=10**9,
                                rate_limit_window_sec=60)
    return raw_key


def wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> float:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        print(f"  warning: {non_2xx.group(1)} non-2xx answers")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--redis", default="", help="REDIS_URL for the limiter (default: in-process memory)")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="knoxcall-bench-")
    setup(data_dir, args.redis)
    from tests.support.gateway_process import GatewayProcess
    from tests.support.upstream import RecordingUpstream

    upstream = RecordingUpstream().start()
    raw_key = seed(upstream.url)
    gateway = GatewayProcess(str(Path(data_dir) / "knoxcall.sqlite3"),
                             {"KNOXCALL_DATA_DIR": data_dir, "REDIS_URL": args.redis,
                              "KNOXCALL_RATE_LIMIT_PREFIX": "knoxcall-bench:"}).start()
    try:
        url = gateway.url + "/echo"
        for label, headers in (("off", {"x-knoxcall-route": "off"}),
                               ("on", {"x-knoxcall-route": "on", "x-knoxcall-key": raw_key}),
                               ("off", {"x-knoxcall-route": "off"}),
                               ("on", {"x-knoxcall-route": "on", "x-knoxcall-key": raw_key})):
            upstream.clear()
            rate = wrk(url, headers, args.seconds, args.connections)
            print(f"access checks {label:3}: {rate:10.0f} req/s  (limiter: {args.redis or 'memory'})")
    finally:
        gateway.stop()


if __name__ == "__main__":
    main()
