"""What rules measure: error rate, latency percentiles, counts and request failures over the window."""

from datetime import timedelta
from uuid import uuid4

import pytest
from django.utils import timezone

from alerts.evaluation import measure
from alerts.metrics import metric_totals_for_window, observed_value, window_start
from alerts.models import AlertRule, Direction, RuleType
from analytics import histogram
from analytics.models import RequestLog
from analytics.selectors import Metrics
from tests.alerts.conftest import add_traffic


def rule(**fields) -> AlertRule:
    defaults = {"name": "r", "type": RuleType.ERROR_RATE, "threshold": 5.0, "window_minutes": 5,
                "min_requests": 1}
    return AlertRule(**{**defaults, **fields})


def test_it_computes_error_rate_from_5xx_and_gateway_errors_as_a_percentage():
    mixed = Metrics(total=200, status_5xx=10, gateway_errors=10)
    assert observed_value(RuleType.ERROR_RATE, mixed) == 10.0
    assert observed_value(RuleType.ERROR_RATE, Metrics(total=4, status_5xx=4)) == 100.0
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
    add_traffic("production", total=1000, minute=now - timedelta(minutes=5))  # outside a 5-minute window
    add_traffic("staging", total=7, minute=now)
    since = window_start(now, 5)

    everything = metric_totals_for_window(environment="production", route_id=None, since=since, until=now)
    one_route = metric_totals_for_window(environment="production", route_id=route, since=since, until=now)

    assert (everything.total, everything.status_5xx) == (30, 1)
    assert one_route.total == 10 and sum(one_route.latency_histogram) == 10


@pytest.mark.django_db
def test_it_counts_request_failures_of_the_chosen_status_codes(environments):
    now = timezone.now()
    for status in (200, 502, 502, 503, 404):
        RequestLog.objects.create(request_id=str(uuid4()), timestamp=now, environment="production",
                                  method="GET", path="/", status=status, latency_ms=5)
    failures = rule(type=RuleType.REQUEST_FAILURES, status_codes=[502, 503], threshold=2)

    measurement = measure(failures, environments["production"], now)

    assert (measurement.value, measurement.requests, measurement.firing) == (3.0, 5, True)


@pytest.mark.django_db
def test_it_alerts_on_volume_below_even_with_no_traffic(environments):
    quiet = rule(type=RuleType.REQUEST_VOLUME, direction=Direction.BELOW, threshold=10, min_requests=100)

    measurement = measure(quiet, environments["staging"], timezone.now())

    assert (measurement.value, measurement.firing) == (0.0, True)
