#!/usr/bin/env python
"""The request log at volume on PostgreSQL: insert rate, page timings and the retention purge.

    .venv/bin/python bench/request_logs.py [--rows 10000000] [--explain] [--keep]

In a scratch database (knoxcall_bench_logs, created, migrated and dropped afterwards unless --keep):
1. --rows rows made by INSERT … SELECT generate_series (not the ORM), spread over 14 days (production 60%,
   staging 30%, development 10%, a rare feature environment; 20 routes and a rare one; 2xx/4xx/5xx/429;
   50 client IPs and a rare one), with the request log's indexes built after the load, as a restore would;
2. the recorder's insert rate into that full table through its real write path (`recorder.flush()`);
3. the console's request log page and /v1/logs with each filter, through Django's test client (so the
   template and serializer count), median of 3; --explain prints EXPLAIN ANALYZE of each page's query;
4. the retention purge (analytics.rollup.purge, 7 days: about half the rows) while a second thread writes
   through the recorder every 50 ms: the insert latencies before and during the purge show whether
   inserts stall. Figures only.
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch_db import DEFAULT_SERVER, scratch_database  # noqa: E402

DATABASE = f"{DEFAULT_SERVER}/{os.environ.get('KNOXCALL_BENCH_LOGS_DATABASE', 'knoxcall_bench_logs')}"
DAYS = 14
CHUNK = 1_000_000
RARE_ROUTE, RARE_ENVIRONMENT, RARE_IP = 20, "feature-rare", "10.9.9.9"


def _generate_sql(table: str, routes: list[str]) -> str:
    """One chunk of rows [%(start)s, %(stop)s): row i is i/rows of the way from DAYS ago to now."""
    route_array = "ARRAY[" + ",".join(f"'{r}'::uuid" for r in routes) + "]"
    return f"""
    INSERT INTO {table} (request_id, timestamp, route_id, route_slug, environment, method, path, query,
        status, latency_ms, bytes_in, bytes_out, client_ip, upstream_host, error_code, error_detail,
        api_key_id, secrets_used, failover_from, release_id, variant, rolled_up)
    SELECT md5(i::text), %(since)s + make_interval(secs => %(span)s * i::float8 / %(rows)s),
        r.route, 'route-' || r.n, e.name,
        CASE WHEN i %% 10 < 8 THEN 'GET' WHEN i %% 10 = 8 THEN 'POST' ELSE 'DELETE' END,
        '/api/users/' || (i %% 1000), 'page=' || (i %% 7), s.status, (i %% 997) * 0.7 + 0.3,
        0, 512, c.ip, 'upstream.internal:8080', s.code, '', NULL, '["BENCH_TOKEN"]'::jsonb, '', NULL, '',
        i < %(rows)s - 10000
    FROM generate_series(%(start)s, %(stop)s - 1) AS i,
    LATERAL (SELECT CASE WHEN i %% 100003 = 0 THEN {RARE_ROUTE} ELSE i %% 20 END AS n) AS rn,
    LATERAL (SELECT ({route_array})[rn.n + 1] AS route, rn.n) AS r,
    LATERAL (SELECT CASE WHEN i %% 99991 = 0 THEN '{RARE_ENVIRONMENT}'
                         WHEN i %% 10 < 6 THEN 'production' WHEN i %% 10 < 9 THEN 'staging'
                         ELSE 'development' END AS name) AS e,
    LATERAL (SELECT CASE WHEN i %% 1000 = 7 THEN 429 WHEN i %% 100 = 3 THEN 500
                         WHEN i %% 20 = 1 THEN 404 ELSE 200 END AS status,
                    CASE WHEN i %% 1000 = 7 THEN 'rate_limited' WHEN i %% 500 = 3 THEN 'upstream_unavailable'
                         ELSE '' END AS code) AS s,
    LATERAL (SELECT CASE WHEN i %% 99989 = 0 THEN '{RARE_IP}'::inet
                         ELSE ('10.0.0.' || (i %% 50 + 1))::inet END AS ip) AS c
    """


def _secondary_indexes(cursor, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE '%%_pkey'",
        [table],
    )
    return cursor.fetchall()


def generate(rows: int, routes: list[str]) -> list[str]:
    """Load the rows with the secondary indexes dropped, then build them: minutes instead of an hour."""
    from django.db import connection
    from django.utils import timezone

    from analytics.models import RequestLog

    table = RequestLog._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        indexes = _secondary_indexes(cursor, table)
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        began = time.perf_counter()
        span = timedelta(days=DAYS).total_seconds()
        params = {"since": now - timedelta(days=DAYS), "span": span, "rows": rows}
        for start in range(0, rows, CHUNK):
            cursor.execute(
                _generate_sql(table, routes), {**params, "start": start, "stop": min(rows, start + CHUNK)}
            )
        loaded = time.perf_counter() - began
        began = time.perf_counter()
        for _, definition in indexes:
            cursor.execute(definition)
        indexed = time.perf_counter() - began
        cursor.execute(f"VACUUM ANALYZE {table}")
    return [
        f"generated {rows:,} rows over {DAYS} days: load {loaded:.0f} s ({rows / loaded:,.0f} rows/s), "
        f"{len(indexes)} secondary indexes built in {indexed:.0f} s"
    ]


def recorder_rate(count: int = 20_000) -> list[str]:
    from django.conf import settings

    from analytics import recorder
    from bench.recorder import _records

    settings.PROXY_RECORDER_MAX_QUEUE = count + 1
    for entry in _records(count):
        recorder.record(entry)
    began = time.perf_counter()
    written = recorder.flush()
    seconds = time.perf_counter() - began
    return [
        f"recorder into the full table: {written:,} rows in {seconds:.2f} s = {written / seconds:,.0f} rows/s"
    ]


def _setup_callers() -> tuple[list[str], object, str]:
    """21 routes, the environments the rows name, a Viewer for the console and a key for /v1."""
    from django.contrib.auth import get_user_model

    from core.audit import SYSTEM
    from environments.models import Environment
    from environments.services import api_key_create, environment_create
    from routing.services import route_create

    for name in ("staging", "development", RARE_ENVIRONMENT):
        if not Environment.objects.filter(name=name).exists():
            environment_create(actor=SYSTEM, name=name)
    routes = [
        str(
            route_create(
                actor=SYSTEM, name=f"route-{n}", slug=f"route-{n}", target_base_url="https://example.com"
            ).pk
        )
        for n in range(RARE_ROUTE + 1)
    ]
    user = get_user_model().objects.create_superuser("bench", password=None)
    _, raw_key = api_key_create(actor=SYSTEM, name="bench", role="viewer")
    return routes, user, raw_key


def _pages(routes: list[str], middle_cursor: str) -> list[tuple[str, str]]:
    common, rare = routes[3], routes[RARE_ROUTE]
    console = "/analytics/requests/"
    return [
        ("console: newest, no filter", console),
        ("console: environment=staging", f"{console}?environment=staging"),
        (f"console: environment={RARE_ENVIRONMENT} (rare)", f"{console}?environment={RARE_ENVIRONMENT}"),
        ("console: a route", f"{console}?route={common}"),
        ("console: a rare route", f"{console}?route={rare}"),
        ("console: status 5xx", f"{console}?status_class=5xx"),
        ("console: production + 4xx", f"{console}?environment=production&status_class=4xx"),
        ("console: method DELETE", f"{console}?method=DELETE"),
        (f"console: client IP {RARE_IP} (rare)", f"{console}?client_ip={RARE_IP}"),
        ("console: latency >= 690 ms", f"{console}?min_latency_ms=690"),
        ("console: one hour 3 days ago", f"{console}?since={{h3}}&until={{h3_end}}"),
        ("console: oldest first", f"{console}?order=oldest"),
        ("/v1/logs: first page", "/v1/logs"),
        ("/v1/logs: cursor in the middle", f"/v1/logs?cursor={middle_cursor}"),
        ("/v1/logs: environment (rare)", f"/v1/logs?environment={RARE_ENVIRONMENT}"),
        ("/v1/logs: a rare route", f"/v1/logs?route_id={rare}"),
        ("/v1/logs: status_code=500", "/v1/logs?status_code=500"),
        ("/v1/logs: since 3 days ago", "/v1/logs?since={h3}"),
        ("/v1/logs: method DELETE, cursor", f"/v1/logs?method=DELETE&cursor={middle_cursor}"),
        ("/v1/routes/{id}/logs: a route", f"/v1/routes/{common}/logs"),
    ]


def page_timings(routes: list[str], user, raw_key: str, explain: bool) -> list[str]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from analytics.api import encode_cursor
    from analytics.models import RequestLog

    h3 = (timezone.now() - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    moments = {
        "h3": h3.strftime("%Y-%m-%dT%H:%M:%S"),
        "h3_end": (h3 + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
    }
    middle = RequestLog.objects.order_by("-id").values_list("id", flat=True).first() // 2
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    client.force_login(user)
    lines = [
        "page (median of 3)                          whole ms  its CPU ms  slowest request-log query ms",
        "  (whole: wall time through Django's test client; CPU: this process's share of it, which a loaded",
        "  machine stretches less; query: the database's part)",
    ]
    for label, url in _pages(routes, encode_cursor(middle)):
        url = url.format(**moments)
        timings, cpu = [], []
        for _ in range(3):
            with CaptureQueriesContext(connection) as queries:
                began, began_cpu = time.perf_counter(), time.process_time()
                response = client.get(url)
                timings.append((time.perf_counter() - began) * 1000)
                cpu.append((time.process_time() - began_cpu) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code} {response.content[:300]!r}")
        logged = [q for q in queries.captured_queries if RequestLog._meta.db_table in q["sql"]]
        slowest = max(logged, key=lambda q: float(q["time"]), default=None)
        query_ms = float(slowest["time"]) * 1000 if slowest else 0.0
        lines.append(
            f"  {label:44} {statistics.median(timings):7.1f} {statistics.median(cpu):10.1f} {query_ms:12.1f}"
        )
        if explain and slowest:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
                lines += ["      " + row[0] for row in cursor.fetchall()]
    return lines


class _Inserter(threading.Thread):
    """Writes `per_tick` records through the recorder every `tick` seconds and keeps each flush's latency."""

    def __init__(self, per_tick: int = 50, tick: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.per_tick, self.tick = per_tick, tick
        self.latencies: list[tuple[float, float]] = []  # (when, seconds)
        self.stopping = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from analytics import recorder
        from bench.recorder import _records

        while not self.stopping.is_set():
            for entry in _records(self.per_tick):
                recorder.record(entry)
            began = time.perf_counter()
            recorder.flush()
            self.latencies.append((began, time.perf_counter() - began))
            self.stopping.wait(max(0.0, self.tick - (time.perf_counter() - began)))
        connection.close()

    def between(self, start: float, end: float) -> list[float]:
        return [seconds * 1000 for when, seconds in self.latencies if start <= when < end]


def _latency_line(label: str, values: list[float]) -> str:
    ordered = sorted(values) or [0.0]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"  {label:26} {len(values):>5} inserts of 50 rows: p50 {statistics.median(ordered):6.1f} ms, "
        f"p99 {p99:6.1f} ms, max {ordered[-1]:7.1f} ms"
    )


def purge_under_load() -> list[str]:
    from analytics.models import RequestLog
    from analytics.rollup import purge

    before_rows = RequestLog.objects.count()
    inserter = _Inserter()
    inserter.start()
    time.sleep(5)
    purge_began = time.perf_counter()
    deleted = purge()
    purge_ended = time.perf_counter()
    time.sleep(2)
    inserter.stopping.set()
    inserter.join()
    seconds = purge_ended - purge_began
    return [
        f"retention purge: {deleted:,} of {before_rows:,} rows deleted in {seconds:.0f} s "
        f"({deleted / seconds:,.0f} rows/s), while 1,000 rows/s went in through the recorder:",
        _latency_line("before the purge", inserter.between(0, purge_began)),
        _latency_line("during the purge", inserter.between(purge_began, purge_ended)),
    ]


def _reused_callers() -> tuple[list[str], object, str]:
    from django.contrib.auth import get_user_model

    from core.audit import SYSTEM
    from environments.services import api_key_create
    from routing.models import Route

    routes = sorted(Route.objects.values_list("slug", "id"), key=lambda r: int(r[0].split("-")[1]))
    _, raw_key = api_key_create(actor=SYSTEM, name=f"bench-{uuid.uuid4().hex[:6]}", role="viewer")
    return [str(pk) for _, pk in routes], get_user_model().objects.get(username="bench"), raw_key


def child(rows: int, explain: bool, reuse: bool, purge: bool) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    routes, user, raw_key = _reused_callers() if reuse else _setup_callers()
    steps = [] if reuse else [lambda: generate(rows, routes), recorder_rate]
    steps.append(lambda: page_timings(routes, user, raw_key, explain))
    if purge:
        steps.append(purge_under_load)
    for step in steps:
        for line in step():
            print(line, flush=True)


def run(
    rows: int = 10_000_000, explain: bool = False, keep: bool = False, echo: bool = False, reuse: bool = False
) -> list[str]:
    lines = [f"request log at volume on PostgreSQL ({rows:,} rows)"]
    context = scratch_database(DATABASE, reuse=reuse)
    url = context.__enter__()
    try:
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "knoxcall.settings"}
        env.update(PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING", DEBUG="true", KNOXCALL_LOG_RETENTION_DAYS="7")
        command = [sys.executable, __file__, "--child", "--rows", str(rows)] + (
            ["--explain"] if explain else []
        )
        command += (["--reuse"] if reuse else []) + ([] if keep else ["--purge"])
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if echo:
                print(lines[-1], flush=True)
        if process.wait():
            raise RuntimeError("the request-log bench failed (see above)")
    finally:
        if keep:
            print(f"kept {url}", file=sys.stderr)
        else:
            context.__exit__(None, None, None)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each page's query")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the scratch database and skip the purge (to iterate on pages)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="take the database a --keep run left (no generation, no recorder rate)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--purge", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.rows, args.explain, args.reuse, args.purge)
    lines = run(args.rows, args.explain, args.keep, echo=True, reuse=args.reuse)
    if not lines:
        print("no figures")


if __name__ == "__main__":
    main()
