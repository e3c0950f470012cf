import math
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db.models import Sum

from analytics import histogram
from analytics.models import MetricBucket, RequestLog
from analytics.rollup import purge, rollup
from analytics.selectors import window_metrics
from core.audit import SYSTEM
from routing.services import route_create
from tests.analytics.concurrency import make_logs, scenario
from tests.analytics.pg import ensure_database, pg_reachable
from tests.analytics.traffic import MIX, SLOW_MS, expected, send_mix, wait_for_logs
from tests.conftest import require_service
from tests.support.access import allow_local_callers

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _bucket_state() -> list[tuple]:
    return list(
        MetricBucket.objects.order_by("id").values_list("environment", "minute", "total", "latency_histogram")
    )


def _total() -> int:
    return MetricBucket.objects.aggregate(n=Sum("total"))["n"] or 0


def test_it_folds_proxied_traffic_into_exact_per_environment_figures(gateway, upstream):
    route = allow_local_callers(
        route_create(actor=SYSTEM, name="Mix", slug="mix", target_base_url=upstream.url)
    )
    gateway.reload()
    sent = send_mix(gateway, "mix")
    wait_for_logs(sent)

    assert rollup().rows == sent
    assert _total() == sent
    now = datetime.now(UTC)
    metrics = window_metrics(
        route_ids=[route.id], since=now - timedelta(hours=1), until=now + timedelta(minutes=1)
    )
    for env, figures in expected().items():
        got = metrics[env]
        assert (got.total, got.error_rate, got.success_rate) == (
            figures["total"],
            figures["error_rate"],
            figures["success_rate"],
        )
        assert (got.rate_limited, got.unauthorized) == (figures["rate_limited"], figures["unauthorized"])
        # P95 is the histogram bucket of the exact P95 of the latencies the gateway logged (exact to the
        # histogram's resolution, however busy the machine), and the slow calls hold that rank.
        latencies = sorted(RequestLog.objects.filter(environment=env).values_list("latency_ms", flat=True))
        exact_p95 = latencies[math.ceil(0.95 * len(latencies)) - 1]
        assert exact_p95 >= SLOW_MS[env]
        assert got.p95 == histogram.BOUNDS_MS[histogram.bucket_index(exact_p95)], (env, got.p95, exact_p95)
    assert set(metrics) == set(MIX)


def test_it_changes_nothing_when_run_a_second_time(transactional_db):
    RequestLog.objects.bulk_create(make_logs(500, start=START))
    assert rollup().rows == 500
    before = _bucket_state()
    assert rollup().rows == 0
    assert _bucket_state() == before
    assert _total() == 500


def test_it_counts_a_late_row_once_in_the_minute_already_rolled_up(transactional_db):
    RequestLog.objects.bulk_create(make_logs(100, start=START))
    rollup()
    minute_total = MetricBucket.objects.filter(minute=START, environment="production").aggregate(
        n=Sum("total")
    )["n"]
    late = make_logs(1, start=START, offset=1000)[0]  # production, minute START, arriving after its rollup
    late.save()
    assert rollup().rows == 1
    rollup()
    assert (
        MetricBucket.objects.filter(minute=START, environment="production").aggregate(n=Sum("total"))["n"]
        == minute_total + 1
    )
    assert _total() == 101


def test_it_stays_exact_with_two_rollups_running_at_once(transactional_db):
    result = scenario()
    assert result["bucket_total"] == result["logs"] == result["histogram_total"]
    assert (result["pending"], result["second_run_rows"]) == (0, 0)


@pytest.mark.postgres
def test_it_stays_exact_with_two_rollups_at_once_on_postgres_with_ids_committing_out_of_order():
    if not pg_reachable():
        require_service("PostgreSQL", "127.0.0.1:5432 refused the connection")
    url = ensure_database("knoxcall_issue6")
    run = subprocess.run(
        [sys.executable, "-m", "tests.analytics.run_concurrency"],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": url},
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    import json

    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["bucket_total"] == result["logs"] == result["histogram_total"] == 3000 + 50 + 25 + 40
    assert (result["pending"], result["second_run_rows"]) == (0, 0)


def test_it_purges_only_rolled_up_logs_past_retention(transactional_db, settings):
    settings.ANALYTICS_RETENTION_DAYS = 7
    now = START + timedelta(days=10)
    RequestLog.objects.bulk_create(make_logs(10, start=START))  # old and rolled up below
    rollup()
    RequestLog.objects.bulk_create(make_logs(3, start=START, offset=50))  # old but not yet rolled up
    RequestLog.objects.bulk_create(make_logs(4, start=now - timedelta(days=1), offset=100))
    assert purge(now=now) == 10
    assert RequestLog.objects.count() == 7


def test_it_purges_in_batches_past_ties_and_rows_not_rolled_up(transactional_db, settings):
    # Batches of 3 over 25 expired rows sharing 5 timestamps, with rows not yet rolled up among them: each
    # batch resumes at the previous one's timestamp, so ties at that edge and kept rows must not stop it.
    settings.ANALYTICS_RETENTION_DAYS = 7
    now = START + timedelta(days=10)
    expired = [
        RequestLog(
            request_id=f"old{i}",
            timestamp=START + timedelta(seconds=i % 5),
            method="GET",
            path="/",
            status=200,
            latency_ms=1.0,
            rolled_up=i % 6 != 0,
        )
        for i in range(30)
    ]
    RequestLog.objects.bulk_create(expired)
    RequestLog.objects.bulk_create(make_logs(4, start=now - timedelta(days=1), offset=100))
    assert purge(now=now, batch_size=3) == 25
    assert sorted(
        RequestLog.objects.filter(timestamp__lt=START + timedelta(days=1)).values_list(
            "request_id", flat=True
        )
    ) == sorted(f"old{i}" for i in range(30) if i % 6 == 0)
    assert RequestLog.objects.count() == 5 + 4


def test_it_rolls_up_from_the_management_command(transactional_db):
    RequestLog.objects.bulk_create(make_logs(12, start=START))
    from io import StringIO

    out = StringIO()
    call_command("knoxcall", "rollup", stdout=out)
    assert "Rolled up 12 request logs" in out.getvalue()
    assert _total() == 12
