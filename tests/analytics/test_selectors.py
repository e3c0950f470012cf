from datetime import UTC, datetime, timedelta

from analytics import histogram
from analytics.models import RequestLog
from analytics.rollup import rollup
from analytics.selectors import Metrics, health_verdict, thresholds_for, time_series, window_metrics
from tests.analytics.concurrency import make_logs

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _metrics(total: int, errors: int, slow_ms: float = 10.0) -> Metrics:
    metrics = Metrics(total=total, status_2xx=total - errors, status_5xx=errors, errors=errors)
    metrics.latency_histogram[histogram.bucket_index(slow_ms)] = total
    return metrics


def test_it_judges_health_against_thresholds():
    limits = {
        "degraded_error_rate": 0.05,
        "down_error_rate": 0.5,
        "degraded_p95_ms": 1000,
        "down_p95_ms": 10000,
    }
    assert health_verdict(Metrics(), limits)[0] == "idle"
    assert health_verdict(_metrics(100, 1), limits)[0] == "healthy"
    assert health_verdict(_metrics(100, 5), limits)[0] == "degraded"
    assert health_verdict(_metrics(100, 60), limits)[0] == "down"
    verdict, reasons = health_verdict(_metrics(100, 0, slow_ms=2000), limits)
    assert verdict == "degraded" and "P95" in reasons[0]


def test_it_lets_an_environment_override_some_thresholds(settings):
    settings.ANALYTICS_HEALTH_THRESHOLDS = {
        "default": {"down_p95_ms": 5000.0},
        "production": {"degraded_error_rate": 0.01},
    }
    production, staging = thresholds_for("production"), thresholds_for("staging")
    assert (production["degraded_error_rate"], production["down_p95_ms"]) == (0.01, 5000.0)
    assert (staging["degraded_error_rate"], staging["down_p95_ms"]) == (0.05, 5000.0)


def test_it_merges_buckets_per_environment_and_step(transactional_db):
    RequestLog.objects.bulk_create(make_logs(300, start=START, minutes=10))
    rollup()
    until = START + timedelta(minutes=10)
    metrics = window_metrics(environments=["production", "staging", "nowhere"], since=START, until=until)
    assert (metrics["production"].total, metrics["staging"].total, metrics["nowhere"].total) == (100, 100, 0)
    assert metrics["nowhere"].error_rate is None and metrics["production"].error_rate == 0.2
    series = time_series(environments=["production"], since=START, until=until, step=timedelta(minutes=2))
    assert len(series[0].starts) == 5 and sum(p.total for p in series[0].points) == 100
    assert window_metrics(since=START, until=START + timedelta(minutes=1))["production"].total == 10
