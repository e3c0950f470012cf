"""Two rollups at once on one database, with rows arriving (late, and out of id order) while they run.

Used in-process on SQLite and, through `python -m tests.analytics.run_concurrency`, on PostgreSQL.
"""

import threading
import uuid
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Sum

from analytics.models import MetricBucket, RequestLog
from analytics.rollup import rollup

ROUTE = uuid.UUID("11111111-2222-3333-4444-555555555555")


def make_logs(count: int, *, start: datetime, minutes: int = 5, offset: int = 0) -> list[RequestLog]:
    environments = ("production", "staging", "development")
    return [
        RequestLog(
            request_id=f"r{offset + i}",
            timestamp=start + timedelta(minutes=i % minutes, seconds=i % 60),
            route_id=ROUTE if i % 7 else None,
            environment=environments[i % 3],
            method="GET",
            path="/x",
            status=(200, 200, 200, 404, 500)[i % 5],
            latency_ms=1.0 + (i % 400),
            bytes_in=1,
            bytes_out=10,
        )
        for i in range(count)
    ]


def _in_thread(target, *args) -> threading.Thread:
    def run() -> None:
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _uncommitted_insert(rows: list[RequestLog], inserted: threading.Event, release: threading.Event) -> None:
    # Takes its ids first and commits last: a plain "id > watermark" cursor would skip these rows.
    with transaction.atomic():
        RequestLog.objects.bulk_create(rows)
        inserted.set()
        release.wait(30)


def scenario(*, rows: int = 3000, out_of_order: bool = False) -> dict:
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    RequestLog.objects.bulk_create(make_logs(rows, start=start))
    release, inserted = threading.Event(), threading.Event()
    held = None
    if out_of_order:
        held = _in_thread(_uncommitted_insert, make_logs(50, start=start, offset=rows), inserted, release)
        inserted.wait(10)
        RequestLog.objects.bulk_create(make_logs(25, start=start, offset=rows + 50))  # higher ids, committed
    barrier = threading.Barrier(2)
    workers = [_in_thread(lambda: (barrier.wait(), rollup(batch_size=200))) for _ in range(2)]
    late = _in_thread(lambda: RequestLog.objects.bulk_create(make_logs(40, start=start, offset=rows + 100)))
    for thread in [*workers, late]:
        thread.join()
    release.set()
    if held is not None:
        held.join()
    rollup()
    second = rollup()
    return {
        "logs": RequestLog.objects.count(),
        "bucket_total": MetricBucket.objects.aggregate(n=Sum("total"))["n"],
        "histogram_total": sum(sum(b.latency_histogram) for b in MetricBucket.objects.all()),
        "pending": RequestLog.objects.filter(rolled_up=False).count(),
        "second_run_rows": second.rows,
    }
