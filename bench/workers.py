#!/usr/bin/env python
"""Workers benchmark: the gateway with every check in 1 and in 2 server processes, measured in one run.

Starts, all on 127.0.0.1: an nginx upstream answering a small JSON body, then the gateway on PostgreSQL and
Redis (the production profile, which more than one worker requires) as `manage.py knoxcall serve --workers 1`
and `--workers 2`, both at once, and drives each in turn with `wrk -t1 -c32` within every round, the order
rotated every round (median of the rounds), so a busy machine's drift hits each alike. Every
call uses the `full` route of bench/setup_gateway.py: API key, client allowlist, route and key limits in
Redis, a secret injected, and the request log written to PostgreSQL. With gunicorn and uvicorn-worker
installed (`pip install gunicorn uvicorn-worker`; not dependencies of the project) it also measures
gunicorn's arbiter with 2 uvicorn workers running the same protocol, the alternative to uvicorn's own
supervisor. Figures only, never a test.

Needs Debian's nginx and wrk (`apt-get install nginx-light wrk`), PostgreSQL and Redis. Run:
`.venv/bin/python bench/workers.py [--duration 5] [--rounds 6] [--database-url URL] [--redis URL]`, or as
a section of `make bench` (bench/report.py). The database named by --database-url is dropped and created
afresh (never DATABASE_URL's).
"""

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.proxy import (  # noqa: E402
    bench_env,
    every_check,
    free_port,
    prepare_gateway_data,
    require_tools,
    spawn,
    start_nginx,
    stop,
    wrk,
)
from knoxcall.lib.servers import APP, HTTP_PROTOCOL  # noqa: E402

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/knoxcall_bench_workers"
REDIS_URL = "redis://127.0.0.1:6379/7"
CONNECTIONS = 32

try:  # gunicorn's uvicorn worker with the gateway's protocol, for the comparison only
    from uvicorn_worker import UvicornWorker

    class LimitedUvicornWorker(UvicornWorker):
        CONFIG_KWARGS = {"loop": "auto", "http": HTTP_PROTOCOL, "proxy_headers": False, "access_log": False}
except ImportError:
    LimitedUvicornWorker = None


def fresh_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(scheme="postgresql", path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def wait_for_health(port: int, timeout: float = 120) -> None:
    """The supervisor's socket accepts before any worker runs: wait for an answer, not a connection."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing answered on port {port}")
        time.sleep(0.2)


def server_commands(port_of: dict[str, int], with_gunicorn: bool) -> dict[str, list[str]]:
    serve = [sys.executable, "manage.py", "knoxcall", "serve"]
    commands = {
        name: [*serve, "--workers", str(workers), "--port", str(port_of[name])]
        for name, workers in (("uvicorn, 1 worker", 1), ("uvicorn, 2 workers", 2))
    }
    if with_gunicorn:
        commands["gunicorn, 2 uvicorn workers"] = [
            sys.executable, "-m", "gunicorn", APP, "-w", "2", "-k", "bench.workers.LimitedUvicornWorker",
            "-b", f"127.0.0.1:{port_of['gunicorn, 2 uvicorn workers']}", "--keep-alive", "5",
            "--log-level", "warning",
        ]  # fmt: skip
    return commands


def settle(database_url: str, timeout: float = 60) -> None:
    """Wait until the request log stops growing: a server's recorders still writing the previous run's
    calls would slow whichever server is measured next."""
    import psycopg

    url = urlsplit(database_url)._replace(scheme="postgresql").geturl()
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        previous = -1
        while time.monotonic() < deadline:
            count = conn.execute("SELECT count(*) FROM analytics_requestlog").fetchone()[0]
            if count == previous:
                return
            previous = count
            time.sleep(1)


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by a server: its process and every worker under it."""
    import psutil

    total = 0.0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def measure_once(url: str, pid: int, headers: dict, duration: int) -> dict:
    """One wrk run, plus the server's CPU time per call: a figure that holds on a shared machine, where
    the processes of one session share one CPU slice (sched autogroup) however many workers it starts."""
    before = cpu_seconds(pid)
    result = wrk(url, CONNECTIONS, duration, headers)
    calls = max(1.0, result["rps"] * duration)
    return {**result, "cpu_ms": (cpu_seconds(pid) - before) * 1000 / calls}


def measure_in_turn(targets: dict[str, tuple[str, int]], headers: dict, args: argparse.Namespace) -> dict:
    for url, _ in targets.values():
        wrk(url, 8, 1, headers)  # warm-up: pools, route table, Redis connections
    runs: dict[str, list[dict]] = {name: [] for name in targets}
    for round_number in range(args.rounds):
        names = list(targets)
        shift = round_number % len(
            names
        )  # each configuration takes every place in turn: drift hits all alike
        order = names[shift:] + names[:shift]
        for name in order:
            settle(args.database_url)
            runs[name].append(measure_once(*targets[name], headers, args.duration))
        print(f"  round {round_number + 1}/{args.rounds} measured", file=sys.stderr, flush=True)
    return {
        name: {key: median(r[key] for r in results) for key in results[0]} for name, results in runs.items()
    }


def report(results: dict[str, dict], duration: int, rounds: int) -> list[str]:
    one = results["uvicorn, 1 worker"]["rps"]
    lines = [
        f"gateway, every check, PostgreSQL + Redis; wrk -t1 -c{CONNECTIONS}, {rounds} rounds of {duration} s "
        f"(median), on {os.cpu_count()} cores",
        f"{'configuration':30} {'req/s':>8} {'x 1 worker':>10} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'CPU ms/call':>11} {'non-2xx':>8}",
    ]
    for name, result in results.items():
        lines.append(
            f"{name:30} {result['rps']:>8,.0f} {result['rps'] / one:>10.2f} {result['p50']:>7.2f} "
            f"{result['p99']:>7.2f} {result['cpu_ms']:>11.2f} {result['non2xx']:>8.0f}"
        )
    lines.append(
        "ratios from the same run: every configuration running at once, measured in turn each round "
        "(the order rotated every round); CPU ms/call: the server's processes' CPU time per call"
    )
    return lines


def arguments_from_environment() -> argparse.Namespace:
    """bench/report.py's section contract: BENCH_DURATION, BENCH_ROUNDS and REDIS_URL from the environment.

    At least 3 rounds, so the rotation puts each configuration in every place. DATABASE_URL is not taken:
    this bench drops and recreates its database, which must never be the one the environment names.
    """
    args = parser().parse_args([])
    args.duration = int(os.environ.get("BENCH_DURATION") or args.duration)
    args.rounds = max(3, int(os.environ.get("BENCH_ROUNDS") or args.rounds))
    args.redis = os.environ.get("REDIS_URL") or args.redis
    return args


def run(args: argparse.Namespace | None = None) -> list[str]:
    """Measure and return the printed lines (progress goes to stderr); without args, as a bench/report.py
    section (arguments_from_environment)."""
    args = args or arguments_from_environment()
    database_url = args.database_url
    require_tools()
    work = Path(tempfile.mkdtemp(prefix="knoxcall-bench-workers-"))
    upstream_port = free_port()
    env = bench_env(work, DATABASE_URL=database_url, REDIS_URL=args.redis)
    with_gunicorn = LimitedUvicornWorker is not None and importlib.util.find_spec("gunicorn") is not None
    processes = [start_nginx(work, upstream_port)]
    try:
        fresh_database(database_url)
        raw_key = prepare_gateway_data(upstream_port, env)
        names = ["uvicorn, 1 worker", "uvicorn, 2 workers"] + (
            ["gunicorn, 2 uvicorn workers"] * with_gunicorn
        )
        port_of = {name: free_port() for name in names}
        pid_of = {}
        for name, command in server_commands(port_of, with_gunicorn).items():
            processes.append(spawn(command, env))
            pid_of[name] = processes[-1].pid
        for port in port_of.values():
            wait_for_health(port)
        time.sleep(5)  # every worker of a multi-process server up, not only the first to answer
        targets = {
            name: (f"http://127.0.0.1:{port}/api/users?x=1", pid_of[name]) for name, port in port_of.items()
        }
        results = measure_in_turn(targets, every_check(raw_key), args)
    finally:
        stop(processes, timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return report(results, args.duration, args.rounds)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=6, help="wrk runs per figure (median)")
    parser.add_argument("--database-url", default=DATABASE_URL, help="PostgreSQL database, recreated")
    parser.add_argument("--redis", default=REDIS_URL, help="REDIS_URL for limits, pub/sub and cache")
    return parser


def main() -> None:
    print("\n".join(run(parser().parse_args())))


if __name__ == "__main__":
    main()
