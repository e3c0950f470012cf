#!/usr/bin/env python
"""Release split benchmark: what an active release costs the proxy, measured in one run.

One gateway process (uvicorn, as `make run` starts it) serves two identical routes with every check on
(bench/setup_gateway.py's `full`: API key, client allowlist, route and key rate limits, a secret injected):
`full` without a release and `full-release` with an active canary at 50 % kept sticky by API key, so every
call computes the keyed hash and picks a side (both sides call the same nginx upstream). wrk drives both in
turn within every round, in alternating order (bench/proxy.py's machinery for the rest), so a busy
machine's drift hits both alike, and the ratio of the medians is the split's cost. Figures only, never a
test; the target is under 3 %.

Needs nginx and wrk (`apt-get install nginx-light wrk`). Run `.venv/bin/python bench/release_split.py
[--duration 5] [--rounds 4] [--pause 2]`; `make bench` runs it after bench/proxy.py.
"""

import argparse
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.proxy import (  # noqa: E402
    bench_env,
    free_port,
    medians,
    prepare_gateway_data,
    require_tools,
    start_gateways,
    start_nginx,
    stop,
    wrk,
)

SETUP = """
import django, sys
django.setup()
from core.audit import SYSTEM
from environments.models import Client, Environment
from routing.models import Route
from routing.releases import start_release
from routing.services import route_client_assign, route_create
from bench.setup_gateway import UNLIMITED

full = Route.objects.get(slug="full")
copy = route_create(
    actor=SYSTEM, name="full-release", slug="full-release", target_base_url=full.target_base_url,
    rate_limit_enabled=True, inject_headers_json=full.inject_headers_json, **UNLIMITED,
)
staging = Environment.objects.get(name="staging")
local = Client.objects.get(name="bench-local")
route_client_assign(actor=SYSTEM, route=copy, environment=staging, client=local)
candidate = {"target_base_url": sys.argv[1] + "/candidate"}
steps = [{"weight_percent": 50, "hold_seconds": 3600}]
start_release(SYSTEM, copy, staging, candidate=candidate, steps=steps)
print(copy.slug)
"""


def prepare_release(upstream_port: int, env: dict) -> str:
    """A copy of the `full` route with an active 50 % canary in staging; returns its slug."""
    command = [sys.executable, "-c", SETUP, f"http://127.0.0.1:{upstream_port}"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"release set-up failed:\n{done.stderr}")
    return done.stdout.strip()


def measure_alternating(targets: dict[str, tuple[str, dict]], args) -> dict[str, dict]:
    """Both targets in every round, in the opposite order each round (ABBA), with a pause before each run:
    the gateway's request-log writer drains the previous run's calls in the background, which would
    otherwise always slow whichever target runs second."""
    for url, headers in targets.values():
        wrk(url, 8, 1, headers)  # warm-up: pools, route table
    runs: dict[str, dict[int, list]] = {name: {1: [], 32: []} for name in targets}
    names = list(targets)
    for round_number in range(args.rounds):
        for connections in (1, 32):
            for name in names if round_number % 2 == 0 else reversed(names):
                time.sleep(args.pause)
                url, headers = targets[name]
                runs[name][connections].append(wrk(url, connections, args.duration, headers))
    print(f"  measured {', '.join(targets)}", file=sys.stderr, flush=True)
    return medians(runs)


def measure(args) -> dict[str, dict]:
    require_tools()
    work = Path(tempfile.mkdtemp(prefix="knoxcall-bench-release-"))
    upstream_port = free_port()
    env = bench_env(work, REDIS_URL="")
    nginx = start_nginx(work, upstream_port)
    try:
        raw_key = prepare_gateway_data(upstream_port, env)
        released = prepare_release(upstream_port, env)
        started = start_gateways(["uvicorn"], "http1", env)
        port = started["uvicorn"][0]
        headers = {"x-knoxcall-environment": "staging", "x-knoxcall-key": raw_key}
        url = f"http://127.0.0.1:{port}/api/users?x=1"
        targets = {
            "no release": (url, {**headers, "x-knoxcall-route": "full"}),
            "release at 50 %": (url, {**headers, "x-knoxcall-route": released}),
        }
        try:
            return measure_alternating(targets, args)
        finally:
            stop(process for _, process in started.values())
    finally:
        stop([nginx], timeout=5)
        shutil.rmtree(work, ignore_errors=True)


def side_choice_microseconds(calls: int = 200_000) -> float:
    """The split's own work per call (keyed hash of the API key id, compare), timed in this process: a
    figure the machine's load barely moves, unlike two throughputs measured seconds apart."""
    import secrets

    from routing.proxy.split import side_for

    release = SimpleNamespace(
        salt=secrets.token_bytes(32), threshold=2**63, sticky="api_key", allow_variant_header=False
    )
    call = SimpleNamespace(api_key_id="5b0c6a0e-6f0e-4d7e-9f38-1f2a3b4c5d6e", client_ip="127.0.0.1")
    found = {b"x-knoxcall-route": [b"full-release"]}
    started = time.perf_counter()
    for _ in range(calls):
        side_for(release, found, call)
    return (time.perf_counter() - started) / calls * 1e6


def report(results: dict[str, dict]) -> None:
    print(
        f"\n{'every check, uvicorn + http1':32} {'req/s @32':>10} {'p50 @32 ms':>11} {'req/s @1':>9} "
        f"{'non-2xx':>8}"
    )
    for name, result in results.items():
        at32, at1 = result[32], result[1]
        non2xx = at32["non2xx"] + at1["non2xx"]
        print(f"{name:32} {at32['rps']:>10,.0f} {at32['p50']:>11.2f} {at1['rps']:>9,.0f} {non2xx:>8}")
    base, split = results["no release"], results["release at 50 %"]
    for connections in (32, 1):
        cost = 1 - split[connections]["rps"] / base[connections]["rps"]
        print(f"split cost @{connections}: {cost:+.1%} of throughput (target: under 3 %)")
    per_call = side_choice_microseconds()
    call_us = 1e6 / base[1]["rps"]
    print(
        f"side choice alone: {per_call:.2f} µs per call, {per_call / call_us:.2%} of a call at 1 connection "
        f"({call_us:.0f} µs per call without a release)"
    )
    print("\nboth routes served by one gateway process and measured in turn within every round of this run.")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument(
        "--rounds", type=int, default=4, help="wrk runs per figure (median); order alternates"
    )
    parser.add_argument("--pause", type=float, default=2.0, help="seconds of rest before each wrk run")
    report(measure(parser.parse_args()))


def run() -> list[str]:
    """The `make bench` section (bench/report.py's contract): knobs from BENCH_DURATION / BENCH_ROUNDS."""
    args = SimpleNamespace(
        duration=int(os.environ.get("BENCH_DURATION", 5)),
        rounds=int(os.environ.get("BENCH_ROUNDS", 4)),
        pause=2.0,
    )
    results = measure(args)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        report(results)
    return printed.getvalue().strip("\n").splitlines()


if __name__ == "__main__":
    main()
