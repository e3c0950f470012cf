#!/usr/bin/env python
"""Soak: the gateway with every check on, at the highest rate one process sustains, for a minute.

    .venv/bin/python bench/soak.py [--seconds 60] [--warm-up 30] [--connections 32] [--redis URL]
        [--postgres]

Sets up what `make bench` measures (bench/proxy.py: an nginx upstream, the gateway under uvicorn as
`make run` starts it, the `full` route of bench/setup_gateway.py: API key, client allowlist, route and key
rate limits, a secret injected, every call logged), warms it up, then drives it with wrk at --connections
(a closed loop: as fast as the process answers, which is its sustainable rate as long as the recorder's
queue stays shallow) and prints: requests and non-2xx, the gateway's RSS after the warm-up against the end
(and its peak), and what the recorder did with the records (the line it logs at shutdown: queued, written,
dropped, rejected, deepest queue), checked against the rows in the database. Figures only; needs nginx and
wrk (`apt-get install nginx-light wrk`).
"""

import argparse
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import threading
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.proxy import (  # noqa: E402
    bench_env,
    every_check,
    free_port,
    missing_tools,
    prepare_gateway_data,
    start_gateway,
    start_nginx,
    stop,
    wait_for_port,
    wrk,
)
from bench.scratch_db import DEFAULT_SERVER, scratch_database  # noqa: E402

RECORDER_LINE = re.compile(
    r"request log recorder: (\d+) queued, (\d+) written, (\d+) dropped .*?, (\d+) rejected .*?, "
    r"(\d+) waiting, deepest queue (\d+)"
)
SHIPPER_LINE = re.compile(r"request log shipper: (\d+) shipped .*?, (\d+) dropped .*?, (\d+) unsent")


def rss_kib(pid: int) -> int:
    """The RSS of the gateway and of its request-log writer process (analytics/writer_process.py)."""
    gateway = psutil.Process(pid)
    return sum(process.memory_info().rss for process in [gateway, *gateway.children()]) // 1024


class RssSampler(threading.Thread):
    """The gateway's RSS every second while the soak runs (its peak says more than two end points)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.stopping = pid, [], threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(1.0):
            self.samples.append(rss_kib(self.pid))


def rows_logged(env: dict) -> int:
    if env.get("DATABASE_URL"):
        import psycopg

        with psycopg.connect(env["DATABASE_URL"].replace("postgres://", "postgresql://", 1)) as conn:
            return conn.execute("SELECT count(*) FROM analytics_requestlog").fetchone()[0]
    with sqlite3.connect(Path(env["KNOXCALL_DATA_DIR"]) / "knoxcall.sqlite3") as conn:
        return conn.execute("SELECT count(*) FROM analytics_requestlog").fetchone()[0]


def soak(env: dict, work: Path, args) -> list[str]:
    upstream_port = free_port()
    nginx = start_nginx(work, upstream_port)
    gateway = None
    try:
        raw_key = prepare_gateway_data(upstream_port, env)
        with open(work / "gateway.log", "w") as gateway_log:
            gateway_port, gateway = start_gateway(env, output=gateway_log)
        wait_for_port(gateway_port, timeout=60)
        url = f"http://127.0.0.1:{gateway_port}/api/users?x=1"
        headers = every_check(raw_key)
        print(f"  soak: warming up {args.warm_up} s, then {args.seconds} s", file=sys.stderr, flush=True)
        warm = wrk(url, args.connections, args.warm_up, headers)
        rss_warm = rss_kib(gateway.pid)
        sampler = RssSampler(gateway.pid)
        sampler.start()
        main = wrk(url, args.connections, args.seconds, headers)
        rss_end = rss_kib(gateway.pid)
        sampler.stopping.set()
        sampler.join()
        stop([gateway], timeout=30)  # a clean shutdown: the recorder drains and logs its line
    finally:
        stop([process for process in (gateway, nginx) if process])
    gateway_log = (work / "gateway.log").read_text()
    recorder, shipper = RECORDER_LINE.search(gateway_log), SHIPPER_LINE.search(gateway_log)
    sent = warm["requests"] + main["requests"]
    return _report(
        args,
        warm,
        main,
        (rss_warm, _half_way(sampler.samples, rss_warm), rss_end, max(sampler.samples, default=rss_end)),
        recorder,
        shipper,
        sent,
        rows_logged(env),
    )


def _half_way(samples: list[int], default: int) -> int:
    """The RSS sampled half-way through the soak (one sample a second)."""
    return samples[len(samples) // 2] if samples else default


def _report(
    args, warm: dict, main: dict, rss: tuple[int, int, int, int], recorder, shipper, sent: int, rows: int
) -> list[str]:
    rss_warm, rss_half, rss_end, rss_peak = rss
    database, limits = "PostgreSQL" if args.postgres else "SQLite", "in Redis" if args.redis else "in memory"
    non2xx, socket_errors = main["non2xx"] + warm["non2xx"], main["socket_errors"] + warm["socket_errors"]
    lines = [
        f"soak: {args.seconds} s at {args.connections} connections after a {args.warm_up} s warm-up, "
        f"every check on ({database}, rate limits {limits})",
        f"  {main['requests']:,} calls, {main['rps']:,.0f} req/s, p99 {main['p99']:.1f} ms; "
        f"non-2xx: {non2xx}, socket errors: {socket_errors}",
        f"  gateway RSS (with its writer process): {rss_warm / 1024:.1f} MiB after the warm-up, "
        f"{rss_end / 1024:.1f} MiB at the end "
        f"({(rss_end - rss_warm) / rss_warm:+.1%}), peak {rss_peak / 1024:.1f} MiB; over the second half "
        f"{(rss_end - rss_half) / rss_half:+.1%} (a leak keeps growing there, a filling cache does not)",
    ]
    if recorder is None:
        return lines + ["  recorder: its shutdown line was not found in the gateway's log"]
    queued, written, dropped, rejected, waiting, deepest = map(int, recorder.groups())
    if shipper:  # the writer process's line says what it got; the gateway's, what it could not hand over
        _, shipper_dropped, unsent = map(int, shipper.groups())
        dropped, waiting = dropped + shipper_dropped, waiting + unsent
    return lines + [
        f"  recorder: {queued:,} records queued, {written:,} written, {dropped:,} dropped, "
        f"{rejected:,} rejected, {waiting:,} left; deepest queue {deepest:,} records",
        f"  rows in the request log {rows:,} ({'= written' if rows == written else 'not what it wrote'}); "
        f"calls wrk saw answered {sent:,} ({'none missing' if rows >= sent else f'{sent - rows:,} missing'}: "
        "wrk does not count the calls in flight when it stops)",
    ]


def run(
    seconds: int | None = None,
    warm_up: int = 30,  # at full load the RSS climbed ~30 s, then stayed flat (127 → 150 → 154 MiB at 90 s)
    connections: int = 32,
    redis: str | None = None,
    postgres: bool | None = None,
) -> list[str]:
    """The soak as report lines (bench/report.py's section contract): left unset, the knobs come from the
    environment make bench sets: BENCH_SOAK_SECONDS (60), REDIS_URL, and DATABASE_URL (a postgres:// one
    makes the soak log into a scratch database on that server, never into the database it names)."""
    seconds = seconds or int(os.environ.get("BENCH_SOAK_SECONDS", "60"))
    redis = os.environ.get("REDIS_URL", "") if redis is None else redis
    server = os.environ.get("DATABASE_URL", "")
    if postgres is None:
        postgres = server.startswith("postgres")
    server = server.rsplit("/", 1)[0] if server.startswith("postgres") else DEFAULT_SERVER
    args = argparse.Namespace(
        seconds=seconds, warm_up=warm_up, connections=connections, redis=redis, postgres=postgres
    )
    if missing_tools():
        return ["soak: skipped, needs nginx and wrk (apt-get install nginx-light wrk)"]
    work = Path(tempfile.mkdtemp(prefix="knoxcall-soak-"))
    # LOG_LEVEL INFO: the recorder's shutdown line is INFO when nothing was lost.
    env = bench_env(work, LOG_LEVEL="INFO", REDIS_URL=redis)
    env.pop("DATABASE_URL", None)
    try:
        if not postgres:
            return soak(env, work, args)
        with scratch_database(f"{server}/knoxcall_bench_soak") as url:
            return soak({**env, "DATABASE_URL": url}, work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=None, help="soak length after the warm-up (60)")
    parser.add_argument(
        "--warm-up", type=int, default=30, help="seconds of load before the first RSS reading"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--redis", default=None, help="REDIS_URL for the rate limits (default: $REDIS_URL)")
    parser.add_argument(
        "--postgres", action="store_true", default=None, help="log to a scratch PostgreSQL database"
    )
    args = parser.parse_args()
    print("\n".join(run(args.seconds, args.warm_up, args.connections, args.redis, args.postgres)))


if __name__ == "__main__":
    main()
