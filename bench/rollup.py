"""Rollup throughput: request log rows folded into MetricBucket per second, on SQLite and PostgreSQL.

    .venv/bin/python bench/rollup.py [--rows 1000000] [--backend both|sqlite|postgres]
      [--postgres-url postgres://postgres@127.0.0.1:5432/knoxcall_bench]

Each backend runs in its own process (settings read DATABASE_URL at start-up): SQLite in a fresh temporary
data dir, PostgreSQL in the database named by --postgres-url (created if missing, its analytics tables
emptied). Rows spread over 3 environments, 5 routes and 60 minutes. Prints figures only; asserts nothing.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/knoxcall_bench"


def _create_pg_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base.replace("postgres://", "postgresql://") + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _insert(rows: int) -> float:
    """Raw executemany in 20,000-row batches: the ORM's per-object cost would dominate the set-up."""
    from django.db import connection, transaction

    from analytics.models import RequestLog

    fields = {f.column: f for f in RequestLog._meta.concrete_fields if f.column != "id"}

    def prep(column: str, value):
        return fields[column].get_db_prep_save(value, connection)

    routes = [prep("route_id", uuid.uuid4()) for _ in range(5)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    seconds = [prep("timestamp", start + timedelta(seconds=s)) for s in range(3600)]
    fixed = {
        "route_slug": "bench",
        "method": "GET",
        "path": "/bench",
        "query": "",
        "bytes_in": 10,
        "bytes_out": 100,
        "client_ip": "10.0.0.1",
        "upstream_host": "upstream",
        "error_code": "",
        "api_key_id": None,
        "secrets_used": prep("secrets_used", []),
        "rolled_up": False,
    }
    columns = ["request_id", "timestamp", "route_id", "environment", "status", "latency_ms", *fixed]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        connection.ops.quote_name(RequestLog._meta.db_table),
        ", ".join(connection.ops.quote_name(c) for c in columns),
        ", ".join(["%s"] * len(columns)),
    )
    environments = ("production", "staging", "development")
    statuses = (200, 200, 404, 500)

    def make_row(i: int) -> tuple:
        when = seconds[(i * 3600) // rows]
        latency = 1.0 + (i % 997)
        return (f"b{i}", when, routes[i % 5], environments[i % 3], statuses[i % 4], latency, *fixed.values())

    began = time.perf_counter()
    if connection.vendor == "postgresql":
        _copy(connection, columns, rows, make_row)
        return time.perf_counter() - began
    for offset in range(0, rows, 20_000):
        batch = [make_row(i) for i in range(offset, min(rows, offset + 20_000))]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, batch)
    return time.perf_counter() - began


def _copy(connection, columns: list[str], rows: int, make_row) -> None:
    from analytics.models import RequestLog

    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        statement = f"COPY {RequestLog._meta.db_table} ({', '.join(columns)}) FROM STDIN"
        with cursor.copy(statement) as copy:
            for i in range(rows):
                copy.write_row([getattr(v, "adapted", v) for v in make_row(i)])
    connection.connection.commit()


def run_one(backend: str, rows: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "knoxcall.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.core.management import call_command
    from django.db.models import Sum

    from analytics.models import MetricBucket, RequestLog
    from analytics.rollup import rollup

    call_command("migrate", verbosity=0, interactive=False)
    MetricBucket.objects.all().delete()
    RequestLog.objects.all().delete()
    insert_s = _insert(rows)
    began = time.perf_counter()
    result = rollup()
    elapsed = time.perf_counter() - began
    total = MetricBucket.objects.aggregate(n=Sum("total"))["n"]
    buckets = MetricBucket.objects.count()
    print(
        f"{backend:<10} rows={result.rows:>9,} buckets={buckets:>5} bucket_total={total:>9,} "
        f"insert={insert_s:6.1f}s rollup={elapsed:6.1f}s throughput={result.rows / elapsed:>9,.0f} rows/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["both", "sqlite", "postgres"], default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_one(args.backend, args.rows)
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        env = {**os.environ, "DEBUG": "true"}
        with tempfile.TemporaryDirectory(prefix="knoxcall-bench-") as data_dir:
            env.pop("DATABASE_URL", None)
            env["KNOXCALL_DATA_DIR"] = data_dir
            if backend == "postgres":
                _create_pg_database(args.postgres_url)
                env["DATABASE_URL"] = args.postgres_url
            command = [sys.executable, __file__, "--child", "--backend", backend, "--rows", str(args.rows)]
            subprocess.run(command, env=env, cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
