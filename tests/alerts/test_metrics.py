"""What rules measure: error rate, latency percentiles, counts and request failures over the window."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from django.utils import timezone

from alerts.evaluation import measure
from alerts.metrics import metric_totals_for_window, observed_value, window_start
from alerts.models import AlertRule, Direction, RuleType
from analytics import histogram
from analytics.health import DEFAULT_THRESHOLDS, health_verdict
from analytics.models import MetricBucket, RequestLog
from analytics.rollup import fold
from analytics.selectors import Metrics
from tests.alerts.conftest import add_traffic

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def rule(**fields) -> AlertRule:
    defaults = {
        "name": "r",
        "type": RuleType.ERROR_RATE,
        "threshold": 5.0,
        "window_minutes": 5,
        "min_requests": 1,
    }
    return AlertRule(**{**defaults, **fields})


def folded(calls: list[tuple[int, str]]) -> Metrics:
    """The Metrics of (status, error_code) calls as the rollup folds them into a bucket."""
    rows = [
        (i, None, "production", START, status, 5.0, 0, 0, code, None, "")
        for i, (status, code) in enumerate(calls)
    ]
    metrics = Metrics()
    for increments in fold(rows).values():
        metrics.add(MetricBucket(**increments))
    return metrics


def test_it_computes_error_rate_from_5xx_and_gateway_errors_each_call_once_as_a_percentage():
    calls = folded(
        [(200, "")] * 16
        + [(500, ""), (502, "upstream_unavailable"), (404, "route_not_found"), (429, "rate_limited")]
    )

    # The gateway's 502 is a 5xx and a gateway error, counted once; the 429 is rate-limited, not an error.
    assert (calls.status_5xx, calls.gateway_errors, calls.errors, calls.rate_limited) == (2, 2, 3, 1)
    assert observed_value(RuleType.ERROR_RATE, calls) == 15.0
    # The health verdict reads the same share.
    assert "errors (5xx and gateway) 15.0% ≥ 5.0%" in health_verdict(calls, DEFAULT_THRESHOLDS)[1]
    assert observed_value(RuleType.ERROR_RATE, folded([(503, "")] * 4)) == 100.0
    assert observed_value(RuleType.ERROR_RATE, Metrics()) is None


def test_it_reads_latency_percentiles_from_the_merged_histogram():
    hist = histogram.merge([[0] * histogram.SIZE])
    hist[histogram.bucket_index(10)] += 90
    hist[histogram.bucket_index(2000)] += 10
    totals = Metrics(total=100, latency_histogram=hist)

    assert observed_value(RuleType.LATENCY, totals, 50) <= 10.0 * 1.2
    assert observed_value(RuleType.LATENCY, totals, 95) >= 2000


@pytest.mark.django_db
def test_it_sums_only_the_window_and_the_chosen_route():
    now = timezone.now()
    route = uuid4()
    add_traffic("production", total=10, errors_5xx=1, route_id=route, minute=now)
    add_traffic("production", total=20, minute=now - timedelta(minutes=4))
    add_traffic("production", total=1000, minute=now - timedelta(minutes=6))  # outside a 5-minute window
    add_traffic("staging", total=7, minute=now)
    since = window_start(now, 5)

    everything = metric_totals_for_window(environment="production", route_id=None, since=since, until=now)
    one_route = metric_totals_for_window(environment="production", route_id=route, since=since, until=now)

    assert (everything.total, everything.status_5xx) == (30, 1)
    assert one_route.total == 10 and sum(one_route.latency_histogram) == 10


@pytest.mark.django_db
def test_it_sees_a_spike_30_seconds_before_a_one_minute_evaluation_in_the_previous_minute(environments):
    evaluation = datetime(2026, 1, 1, 12, 0, 15, tzinfo=UTC)
    add_traffic("production", total=10, errors_5xx=10, minute=evaluation - timedelta(seconds=30))  # 11:59
    spike = rule(window_minutes=1)

    measurement = measure(spike, environments["production"], evaluation)

    assert (measurement.value, measurement.requests, measurement.firing) == (100.0, 10, True)
    # The window is the last 60 s with its oldest minute whole: 11:58 is out.
    add_traffic("production", total=90, minute=evaluation - timedelta(seconds=90))
    assert measure(spike, environments["production"], evaluation).requests == 10


@pytest.mark.django_db
def test_it_reads_request_failures_from_the_log_over_exactly_the_last_window(environments):
    evaluation = datetime(2026, 1, 1, 12, 0, 15, tzinfo=UTC)
    for seconds_before in (30, 59, 61):  # 11:59:45 and 11:59:16 are inside; 11:59:14 is not
        RequestLog.objects.create(
            request_id=str(uuid4()),
            timestamp=evaluation - timedelta(seconds=seconds_before),
            environment="production",
            method="GET",
            path="/",
            status=502,
            latency_ms=5,
        )
    failures = rule(type=RuleType.REQUEST_FAILURES, status_codes=[502], threshold=1, window_minutes=1)

    measurement = measure(failures, environments["production"], evaluation)

    assert (measurement.value, measurement.requests, measurement.firing) == (2.0, 2, True)


@pytest.mark.django_db
def test_it_counts_request_failures_of_the_chosen_status_codes(environments):
    now = timezone.now()
    for status in (200, 502, 502, 503, 404):
        RequestLog.objects.create(
            request_id=str(uuid4()),
            timestamp=now,
            environment="production",
            method="GET",
            path="/",
            status=status,
            latency_ms=5,
        )
    failures = rule(type=RuleType.REQUEST_FAILURES, status_codes=[502, 503], threshold=2)

    measurement = measure(failures, environments["production"], now)

    assert (measurement.value, measurement.requests, measurement.firing) == (3.0, 5, True)


@pytest.mark.django_db
def test_it_alerts_on_volume_below_even_with_no_traffic(environments):
    quiet = rule(type=RuleType.REQUEST_VOLUME, direction=Direction.BELOW, threshold=10, min_requests=100)

    measurement = measure(quiet, environments["staging"], timezone.now())

    assert (measurement.value, measurement.firing) == (0.0, True)
