"""Route table rebuild cost as environments multiply (feature branches), printed, never asserted.

    .venv/bin/python bench/table.py [--routes 200] [--environments 10,50,100] [--repeat 3]

Every (route, environment) pair is resolved on each rebuild, so the cost grows with routes x environments.
Runs on SQLite in a fresh temporary data dir. Each route injects one secret header; half the environments
are feature environments cloned from staging (an override row per route and only some secret values of
their own, the rest inherited). Prints, per environment count, the rebuild's median seconds and the
Python memory allocated while building (tracemalloc peak, MB), which is about what each gateway process
holds per table version.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _seed(routes: int, environments: int) -> None:
    from core.models import ConfigVersion
    from environments.models import Environment
    from routing.models import Route, RouteOverride
    from secrets_vault import cipher
    from secrets_vault.models import Secret, SecretValue

    staging = Environment.objects.create(name="staging")
    envs = [staging] + [
        Environment.objects.create(name=f"feature-{i}", parent=staging if i % 2 else None)
        for i in range(environments - 1)
    ]
    secret = Secret.objects.create(name="API_KEY")
    for env in envs[::2]:  # odd feature environments inherit staging's value
        ciphertext, key_id = cipher.encrypt("sk_test_value", secret_id=str(secret.pk), environment_id=env.pk)
        SecretValue.objects.create(secret=secret, environment=env, ciphertext=ciphertext, key_id=key_id)
    created = Route.objects.bulk_create(
        Route(
            name=f"route {i}",
            slug=f"route-{i}",
            target_base_url=f"https://api{i % 7}.example.com/v1",
            inject_headers_json={"Authorization": "Bearer {{secret:API_KEY}}"},
        )
        for i in range(routes)
    )
    RouteOverride.objects.bulk_create(
        RouteOverride(route=route, environment=env, timeout_ms=5000)
        for route in created
        for env in envs[1::2]
    )
    ConfigVersion.objects.update_or_create(pk=1, defaults={"version": 1})


def run_one(routes: int, environments: int, repeat: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "knoxcall.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.core.management import call_command

    from routing.table import build_route_table

    call_command("migrate", verbosity=0, interactive=False)
    _seed(routes, environments)
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        table = build_route_table()
        seconds.append(time.perf_counter() - began)
    tracemalloc.start()
    table = build_route_table()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"routes={routes:>5} environments={len(table.environments):>4} pairs={len(table.resolved):>7,} "
        f"unresolvable={len(table.unresolvable)} rebuild={statistics.median(seconds):7.3f}s "
        f"peak_alloc={peak / 2**20:7.1f}MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=200)
    parser.add_argument("--environments", default="10,50,100")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_one(args.routes, args.child, args.repeat)
    for count in (int(n) for n in args.environments.split(",")):
        with tempfile.TemporaryDirectory(prefix="knoxcall-bench-") as data_dir:
            env = {**os.environ, "DEBUG": "true", "KNOXCALL_DATA_DIR": data_dir}
            env.pop("DATABASE_URL", None)
            command = [
                sys.executable,
                __file__,
                "--child",
                str(count),
                "--routes",
                str(args.routes),
                "--repeat",
                str(args.repeat),
            ]
            subprocess.run(command, env=env, cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
