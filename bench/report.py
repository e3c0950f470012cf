#!/usr/bin/env python
"""`make bench`: one run, one report. Figures only, never a test; ratios are taken within this one run.

Sections, in order:
1. proxy (this file): nginx proxy_pass, the bare ASGI + aiohttp forwarder (bench/ceiling_app.py) and the
   gateway with every check on (API key, client allowlist, route and key rate limits, a secret injected,
   request logging; bench/setup_gateway.py), one process each, driven in turn within every round by
   `wrk -t1` at 32 and then 1 connection against one nginx upstream; then the ratios the issue asks for
   (gateway / nginx at 32, the checks' cost against the bare forwarder) and the latency the gateway adds
   at 1 connection over calling the upstream directly.
2. every module named in SECTIONS below whose file exists in bench/, in that order.

The section contract (all a new section needs):
- a module `bench/<name>.py` with a function `run() -> list[str]`: the lines it wants in the report
  (a small table, a figure per line), already formatted; it starts and stops whatever it needs itself.
- its knobs come from the environment, which this script sets: BENCH_DURATION (seconds per wrk run) and
  BENCH_ROUNDS (runs per figure, take the median); REDIS_URL / DATABASE_URL pass through as given.
- progress goes to stderr; a section that raises is reported as failed and the report goes on.
Each section runs in its own interpreter (`python -c "import bench.<name> ..."`), so one that sets up Django
or starts servers cannot disturb the next. To add one, append `(title, module name)` to SECTIONS.

Run: `make bench` or `.venv/bin/python bench/report.py [--duration 3] [--rounds 3] [--redis URL]
[--only proxy,workers]`. Needs Debian's nginx and wrk (`apt-get install nginx-light wrk`).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.proxy import (  # noqa: E402
    every_check,
    free_port,
    measure_in_turn,
    prepare_gateway_data,
    require_tools,
    start_ceiling,
    start_gateway,
    start_nginx,
    stop,
    wait_for_port,
)

# (title, module in bench/): run after the proxy section when bench/<module>.py exists.
SECTIONS: list[tuple[str, str]] = [
    ("workers: the gateway with 1 and 2 processes", "workers"),
    ("route table changes", "table_changes"),
    ("release split", "release_split"),
    ("soak", "soak"),
]
GOAL_X_NGINX = 0.08
GOAL_CHECKS_COST = 0.25
GOAL_ADDED_P50_MS = 0.3
GOAL_ADDED_P99_MS = 2.0


class Servers:
    """nginx (upstream and proxy_pass), the bare forwarder and the gateway, started together."""

    def __init__(self, work: Path, env: dict) -> None:
        self.work, self.env = work, env
        self.upstream, self.nginx = free_port(), free_port()
        self.processes: list[subprocess.Popen] = []

    def start(self) -> str:
        """Start everything; returns the API key the gateway's `full` route takes."""
        self.processes.append(start_nginx(self.work, self.upstream, self.nginx))
        raw_key = prepare_gateway_data(self.upstream, self.env)
        self.bare, bare = start_ceiling(self.upstream, self.env)
        self.gateway, gateway = start_gateway(self.env)
        self.processes += [bare, gateway]
        for port in (self.bare, self.gateway):
            wait_for_port(port, timeout=60)
        return raw_key

    def stop(self) -> None:
        stop(self.processes)


def proxy_section(duration: int, rounds: int, env: dict) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="knoxcall-bench-"))
    servers = Servers(work, {**env, "KNOXCALL_DATA_DIR": str(work / "var")})
    try:
        raw_key = servers.start()
        targets = {
            "upstream direct": (f"http://127.0.0.1:{servers.upstream}/api/users?x=1", {}),
            "nginx proxy_pass": (f"http://127.0.0.1:{servers.nginx}/api/users?x=1", {}),
            "bare ASGI + aiohttp forwarder": (f"http://127.0.0.1:{servers.bare}/api/users?x=1", {}),
            "gateway, every check, 1 worker": (
                f"http://127.0.0.1:{servers.gateway}/api/users?x=1",
                every_check(raw_key),
            ),
        }
        results = measure_in_turn(targets, duration, rounds)
    finally:
        servers.stop()
        shutil.rmtree(work, ignore_errors=True)
    return proxy_lines(results)


def proxy_lines(results: dict[str, dict]) -> list[str]:
    nginx = results["nginx proxy_pass"][32]["rps"]
    direct = results["upstream direct"][1]
    lines = [
        f"{'configuration':32} {'req/s @32':>10} {'x nginx':>8} {'p50/p99 @32 ms':>15} "
        f"{'req/s @1':>9} {'p50/p99 @1 ms':>14} {'added p50 @1':>13} {'non-2xx':>8}"
    ]
    for name, result in results.items():
        at32, at1 = result[32], result[1]
        lines.append(
            f"{name:32} {at32['rps']:>10,.0f} {at32['rps'] / nginx:>8.3f} "
            f"{at32['p50']:>7.2f}/{at32['p99']:<7.2f} {at1['rps']:>9,.0f} "
            f"{at1['p50']:>6.2f}/{at1['p99']:<7.2f} "
            f"{at1['p50'] - direct['p50']:>13.2f} "
            f"{at32['non2xx'] + at1['non2xx']:>8}"
        )
    gateway, bare = results["gateway, every check, 1 worker"], results["bare ASGI + aiohttp forwarder"]
    checks_cost = 1 - gateway[32]["rps"] / bare[32]["rps"]
    added_p50 = gateway[1]["p50"] - direct["p50"]
    return lines + [
        "",
        f"gateway / nginx proxy_pass @32:            {gateway[32]['rps'] / nginx:.3f}  "
        f"(goal >= {GOAL_X_NGINX})",
        f"checks' cost against the bare forwarder:   {checks_cost:.0%}  (1 - gateway/bare req/s @32; goal <= "
        f"{GOAL_CHECKS_COST:.0%})",
        f"added p50 @1 over the upstream:            {added_p50:.2f} ms  (goal <= {GOAL_ADDED_P50_MS} ms)",
        # A p99 on a shared machine is mostly the scheduler's: the upstream's own is shown beside it, since
        # a difference of two such tails can even come out negative.
        f"p99 @1, gateway (upstream direct):         {gateway[1]['p99']:.2f} ms ({direct['p99']:.2f} ms)  "
        f"(goal: added <= {GOAL_ADDED_P99_MS} ms)",
    ]


def run_section(module: str, env: dict) -> list[str]:
    """One section in its own interpreter; its `run()` lines, or why it failed."""
    code = f"import bench.{module} as section\nprint('\\n'.join(section.run()))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode:
        return [f"(section failed with exit status {done.returncode}; its errors are above)"]
    return done.stdout.rstrip("\n").splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per figure (median)")
    parser.add_argument("--redis", default="", help="REDIS_URL for the gateway (default: in memory)")
    parser.add_argument("--only", default="", help="comma-separated: proxy and/or section module names")
    args = parser.parse_args()
    require_tools()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "knoxcall.settings",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": args.redis,
        "KNOXCALL_RATE_LIMIT_PREFIX": f"knoxcall-bench-{os.getpid()}:",
        "BENCH_DURATION": str(args.duration),
        "BENCH_ROUNDS": str(args.rounds),
    }
    chosen = set(filter(None, args.only.split(",")))
    started = time.monotonic()
    report: list[str] = []
    if not chosen or "proxy" in chosen:
        title = "proxy: one process each, wrk -t1, one nginx upstream, measured in turn in this run"
        report += [f"== {title} ==", *proxy_section(args.duration, args.rounds, env), ""]
    for title, module in SECTIONS:
        if (chosen and module not in chosen) or not (ROOT / "bench" / f"{module}.py").exists():
            continue
        print(f"  running section {module}", file=sys.stderr, flush=True)
        report += [f"== {title} (bench/{module}.py) ==", *run_section(module, env), ""]
    print("\n".join(report))
    print(
        f"(one run, {time.monotonic() - started:.0f} s; a loaded machine moves every figure: compare ratios)"
    )


if __name__ == "__main__":
    main()
