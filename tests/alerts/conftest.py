"""Alerts fixtures: real Slack- and PagerDuty-like receivers on 127.0.0.1, eager Celery, traffic helpers."""

from datetime import datetime

import pytest
from django.utils import timezone

from analytics import histogram
from analytics.models import MetricBucket
from core.audit import SYSTEM
from knoxcall.celery import app as celery_app
from tests.support.receivers import NotificationReceiver


@pytest.fixture(scope="session")
def slack_server() -> NotificationReceiver:
    return NotificationReceiver(kind="slack").start()


@pytest.fixture(scope="session")
def pagerduty_server() -> NotificationReceiver:
    return NotificationReceiver(kind="pagerduty").start()


@pytest.fixture
def slack(slack_server: NotificationReceiver) -> NotificationReceiver:
    slack_server.reset()
    return slack_server


@pytest.fixture
def pagerduty(pagerduty_server: NotificationReceiver, settings) -> NotificationReceiver:
    pagerduty_server.reset()
    settings.PAGERDUTY_EVENTS_URL = f"{pagerduty_server.url}/v2/enqueue"
    return pagerduty_server


@pytest.fixture(autouse=True)
def alerts_settings(settings):
    """Allow the local receivers past the SSRF rules; keep retries quick (eager tasks never sleep anyway)."""
    settings.ALERTS_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.ALERTS_DELIVERY_BACKOFF_BASE_SECONDS = 0.01
    settings.ALERTS_DELIVERY_BACKOFF_CAP_SECONDS = 0.05
    settings.ALERTS_HTTP_TIMEOUT = 3.0
    return settings


@pytest.fixture
def eager_tasks():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def actor():
    return SYSTEM


def add_traffic(
    environment: str,
    *,
    total: int,
    errors_5xx: int = 0,
    latency_ms: float = 20.0,
    route_id=None,
    minute: datetime | None = None,
    gateway_errors: int = 0,
    rate_limited: int = 0,
    unauthorized: int = 0,
) -> MetricBucket:
    """One minute of traffic as the rollup would record it (added to any bucket already there).

    `gateway_errors` here are the gateway's own errors answered below 500 (route_not_found, …), so each
    failed call is counted once in `errors` with the 5xx.
    """
    minute = (minute or timezone.now()).replace(second=0, microsecond=0)
    bucket, _ = MetricBucket.objects.get_or_create(
        route_id=route_id or MetricBucket.NO_ROUTE,
        environment=environment,
        minute=minute,
        defaults={"latency_histogram": histogram.empty()},
    )
    bucket.total += total
    bucket.status_5xx += errors_5xx
    bucket.status_2xx += total - errors_5xx - gateway_errors - rate_limited - unauthorized
    bucket.gateway_errors += gateway_errors
    bucket.errors += errors_5xx + gateway_errors
    bucket.rate_limited += rate_limited
    bucket.unauthorized += unauthorized
    hist = list(bucket.latency_histogram)
    hist[histogram.bucket_index(latency_ms)] += total
    bucket.latency_histogram = hist
    bucket.save()
    return bucket
