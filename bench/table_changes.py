#!/usr/bin/env python
"""Configuration changes against the proxy: what a change costs each process, and what it does to calls.

    .venv/bin/python bench/table_changes.py [--routes 1000] [--environments 20] [--duration 10] [--rounds 2]

Prints, for a route table of --routes x --environments (SQLite in a fresh temporary data dir; every route
injects a secret header, half the environments are feature environments cloned from staging with an
override row per route, and 127.0.0.1 is a client of every route in staging):
- the whole build (start-up, or a process that cannot tell what changed), wall and CPU time;
- applying one version to a table, for one route changed (the usual change), a secret value rotated (a
  secret every route injects), a new feature environment and a revoked API key;
- the p99 of proxied calls (wrk, one gateway process under uvicorn, nginx upstream) with no changes and
  with --rate route changes per second made through the services by another process, in turns within
  the same run, and the apply times the gateway itself logged meanwhile.
Figures only, never a test. Needs nginx and wrk (apt-get install nginx-light wrk) for the p99 part.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.proxy import (  # noqa: E402
    bench_env,
    free_port,
    missing_tools,
    start_gateway,
    start_nginx,
    stop,
    wait_for_port,
    wrk,
)

# --- in the child processes (Django set up on the bench's data dir) ---------------------------------------


def _setup_django() -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "knoxcall.settings")
    django.setup()


def seed(routes: int, environments: int, upstream: str) -> None:
    """The bench's configuration, written in bulk (the services would take minutes), then one version."""
    from django.core.management import call_command

    from core.audit import bump_config_version
    from environments.models import Client, Environment
    from routing.models import Route, RouteClient, RouteOverride
    from secrets_vault import cipher
    from secrets_vault.models import Secret, SecretValue

    call_command("migrate", verbosity=0, interactive=False)
    staging = Environment.objects.create(name="staging")
    features = [
        Environment.objects.create(name=f"feature-{i}", parent=staging if i % 2 else None)
        for i in range(environments - 2)
    ]
    envs = list(Environment.objects.all())
    secret = Secret.objects.create(name="API_KEY")
    for env in [e for e in envs if e not in features] + features[::2]:  # odd features inherit staging's
        ciphertext, key_id = cipher.encrypt("sk_test_value", secret_id=str(secret.pk), environment_id=env.pk)
        SecretValue.objects.create(secret=secret, environment=env, ciphertext=ciphertext, key_id=key_id)
    created = Route.objects.bulk_create(
        Route(
            name=f"route {i}",
            slug=f"route-{i}",
            target_base_url=f"{upstream}/r{i % 7}",
            inject_headers_json={"Authorization": "Bearer {{secret:API_KEY}}"},
        )
        for i in range(routes)
    )
    RouteOverride.objects.bulk_create(
        RouteOverride(route=route, environment=env, timeout_ms=5000)
        for route in created
        for env in features[1::2]
    )
    local = Client.objects.create(name="bench-local", ip_address="127.0.0.1")
    RouteClient.objects.bulk_create(
        RouteClient(route=route, environment=staging, client=local) for route in created
    )
    bump_config_version()


def _timed(work) -> tuple[float, float, object]:
    """Wall and CPU (this thread) milliseconds of work(), and what it returned."""
    wall, cpu = time.perf_counter(), time.thread_time()
    result = work()
    return (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000, result


def table_figures(routes: int, environments: int, upstream: str, changes: int) -> dict:
    """Whole build and one applied version of each kind, measured in this process."""
    _setup_django()
    from core.audit import SYSTEM
    from environments.models import Environment
    from environments.services import api_key_create, api_key_revoke, environment_create
    from routing.models import Route
    from routing.services import route_update
    from routing.table import build_route_table, route_table_update
    from secrets_vault.models import Secret
    from secrets_vault.services import secret_set_value

    seed(routes, environments, upstream)
    builds = [_timed(build_route_table) for _ in range(3)]
    table = builds[-1][2]
    figures = {
        "pairs": len(table.resolved),
        "environments": len(table.environments),
        "build": [statistics.median(b[0] for b in builds), statistics.median(b[1] for b in builds)],
    }
    applied = []
    for i, route in enumerate(Route.objects.order_by("?")[:changes]):
        route_update(actor=SYSTEM, route=route, timeout_ms=1000 + i)
        wall, cpu, table = _timed(lambda table=table: route_table_update(table))
        applied.append((wall, cpu))
    figures["one route"] = [
        statistics.median(a[0] for a in applied),
        statistics.median(a[1] for a in applied),
    ]
    figures["one route, slowest"] = [max(a[0] for a in applied), max(a[1] for a in applied)]

    def apply(change) -> list[float]:
        nonlocal table
        change()
        wall, cpu, table = _timed(lambda: route_table_update(table))
        return [wall, cpu]

    staging = Environment.objects.get(name="staging")
    secret = Secret.objects.get(name="API_KEY")
    figures["secret value"] = apply(
        lambda: secret_set_value(actor=SYSTEM, secret=secret, environment=staging, value="sk_rotated")
    )
    figures["new environment"] = apply(
        lambda: environment_create(actor=SYSTEM, name="feature-new", clone_from=staging)
    )
    key, _ = api_key_create(actor=SYSTEM, name="bench", role="viewer")
    table = route_table_update(table)
    figures["revoked key"] = apply(lambda: api_key_revoke(actor=SYSTEM, api_key=key))
    return figures


def make_changes(rate: float) -> None:
    """Route changes at `rate` per second, for as many seconds as each line of stdin says ("ok" on stdout
    after each): started once, so its start-up is not counted against the calls. Each change is the write
    a route service makes (the row, its version and scope in one transaction) without the service's checks,
    audit and revision, and this process runs niced: on a small machine the writer's own CPU would
    otherwise be measured against the gateway, which in production runs apart from the console."""
    _setup_django()
    from django.db import transaction

    from core.audit import bump_config_version, scope
    from routing.models import Route

    os.nice(10)
    route_ids, made = list(Route.objects.order_by("?").values_list("pk", flat=True)[:200]), 0
    print("ok", flush=True)
    for line in sys.stdin:
        began, count = time.monotonic(), int(rate * float(line))
        for i in range(count):
            time.sleep(max(0.0, began + i / rate - time.monotonic()))
            made += 1
            route_id = route_ids[made % len(route_ids)]
            with transaction.atomic():
                Route.objects.filter(pk=route_id).update(timeout_ms=1000 + made % 5000)
                bump_config_version(scope("route", route_id))
        print("ok", flush=True)


# --- the driver -------------------------------------------------------------------------------------------


def child(env: dict, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, __file__, *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done


def call_latency(env: dict, port: int, args, log_path: Path) -> dict:
    """wrk with no changes and with changes, in turns, at each connection count."""
    url = f"http://127.0.0.1:{port}/x"
    headers = {"x-knoxcall-route": "route-1", "x-knoxcall-environment": "staging"}
    command = [sys.executable, __file__, "--changes", str(args.rate)]
    changer = subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        changer.stdout.readline()  # set up
        wrk(url, 4, 3, headers)  # warm-up: the table, the upstream pool
        runs: dict[tuple[int, bool], list[dict]] = {}
        for _ in range(args.rounds):
            for connections in args.connections:
                for changing in (False, True):
                    if changing:
                        changer.stdin.write(f"{args.duration}\n")
                        changer.stdin.flush()
                    runs.setdefault((connections, changing), []).append(
                        wrk(url, connections, args.duration, headers)
                    )
                    if changing:
                        changer.stdout.readline()
    finally:
        changer.stdin.close()
        changer.wait(30)
    logged = re.findall(r"route table version \d+ loaded in ([\d.]+) ms \((\w+)", log_path.read_text())
    return {"runs": runs, "applies": [(float(ms), how == "applied") for ms, how in logged[1:]]}


def report(args, figures: dict, latency: dict | None) -> list[str]:
    lines = [
        f"route table: {args.routes} routes x {figures['environments']} environments = "
        f"{figures['pairs']:,} pairs (SQLite; wall / CPU of the building thread)",
        f"  whole build                    {figures['build'][0]:8.1f} ms / {figures['build'][1]:7.1f} ms CPU",
    ]
    for label in ("one route", "one route, slowest", "secret value", "new environment", "revoked key"):
        wall, cpu = figures[label]
        lines.append(f"  apply: {label:23} {wall:8.1f} ms / {cpu:7.1f} ms CPU")
    if latency is None:
        return lines + ["  proxied calls: skipped (needs nginx and wrk)"]
    lines.append(
        f"proxied calls (wrk {args.duration}s x {args.rounds} rounds, uvicorn, 1 process; "
        f"0 and {args.rate:g} route changes/s in turns, same run; medians of the rounds):"
    )
    for connections in args.connections:
        quiet, busy = latency["runs"][(connections, False)], latency["runs"][(connections, True)]

        def median(runs, key):
            return statistics.median(run[key] for run in runs)

        lines.append(
            f"  {connections:>2} connections: p99 {median(quiet, 'p99'):6.2f} ms -> "
            f"{median(busy, 'p99'):6.2f} ms "
            f"(+{median(busy, 'p99') - median(quiet, 'p99'):.2f}), p50 {median(quiet, 'p50'):.2f} -> "
            f"{median(busy, 'p50'):.2f} ms, {median(quiet, 'rps'):,.0f} -> {median(busy, 'rps'):,.0f} req/s, "
            f"non-2xx {sum(r['non2xx'] for r in quiet + busy)}"
        )
    applied = [ms for ms, incremental in latency["applies"] if incremental]
    if applied:
        lines.append(
            f"  the gateway applied versions {len(applied)} times meanwhile (whole builds: "
            f"{len(latency['applies']) - len(applied)}): median {statistics.median(applied):.1f} ms, "
            f"max {max(applied):.1f} ms (wall, while serving the calls)"
        )
    return lines


def run(
    routes: int = 1000,
    environments: int = 20,
    duration: int = 10,
    rounds: int = 2,
    rate: float = 10.0,
    connections: tuple[int, ...] = (1, 8),
    changes: int = 20,
) -> list[str]:
    args = argparse.Namespace(
        routes=routes,
        environments=environments,
        duration=duration,
        rounds=rounds,
        rate=rate,
        connections=connections,
        changes=changes,
    )
    work = Path(tempfile.mkdtemp(prefix="knoxcall-bench-changes-"))
    upstream_port = free_port()
    # The watcher polls (KNOXCALL_CONFIG_POLL_SECONDS) as in `make run`, without Redis; the gateway's INFO
    # log says how long each table took to apply.
    env = bench_env(work, DEBUG="true", KNOXCALL_UPSTREAM_ALLOWED_HOSTS="127.0.0.1", LOG_LEVEL="INFO")
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    processes: list[subprocess.Popen] = []
    try:
        upstream = f"http://127.0.0.1:{upstream_port}"
        done = child(env, "--figures", str(routes), str(environments), upstream, str(changes))
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        latency = None
        if not missing_tools():
            processes.append(start_nginx(work, upstream_port))
            with open(work / "gateway.log", "w") as log:
                port, gateway = start_gateway(env, output=log)
            processes.append(gateway)
            wait_for_port(port, timeout=120)
            latency = call_latency(env, port, args, work / "gateway.log")
    finally:
        stop(processes, timeout=15)
        shutil.rmtree(work, ignore_errors=True)
    return report(args, figures, latency)


def main() -> None:
    if sys.argv[1:2] == ["--figures"]:
        routes, environments, upstream, changes = sys.argv[2:6]
        print(json.dumps(table_figures(int(routes), int(environments), upstream, int(changes))))
        return
    if sys.argv[1:2] == ["--changes"]:
        return make_changes(float(sys.argv[2]))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--environments", type=int, default=20)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="wrk runs per figure (median)")
    parser.add_argument("--rate", type=float, default=10.0, help="route changes per second")
    parser.add_argument("--connections", default="1,8", help="wrk connection counts")
    parser.add_argument("--changes", type=int, default=20, help="route changes applied for the apply figure")
    args = parser.parse_args()
    connections = tuple(int(n) for n in args.connections.split(","))
    options = vars(args) | {"connections": connections}
    for line in run(**options):
        print(line)


if __name__ == "__main__":
    main()
