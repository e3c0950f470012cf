"""The demo's alert policy: idempotent, and silent until its placeholder channels are configured."""

import io

import pytest
from django.core.management import call_command

from alerts.models import AlertIncident, AlertRule, NotificationAttempt, NotificationChannel
from knoxcall.cli.demo import load_demo
from tests.alerts.conftest import add_traffic

pytestmark = pytest.mark.usefixtures("eager_tasks")


def test_it_loads_the_seed_policy_once(environments):
    load_demo()
    load_demo()

    assert NotificationChannel.objects.count() == 3
    assert not NotificationChannel.objects.filter(enabled=True).exists()
    production = AlertRule.objects.filter(environments__name="production")
    assert sorted((r.type, r.threshold) for r in production) == [("error_rate", 5.0), ("latency", 1000.0)]
    assert {c.kind for r in production for c in r.channels.all()} == {"slack", "pagerduty"}
    staging = AlertRule.objects.filter(environments__name="staging")
    assert sorted((r.type, r.threshold) for r in staging) == [("error_rate", 20.0), ("latency", 5000.0)]
    assert {c.kind for r in staging for c in r.channels.all()} == {"slack"}
    assert not AlertRule.objects.filter(environments__name="development").exists()
    assert AlertRule.objects.count() == 4


def test_it_sends_nothing_from_a_fresh_demo_when_production_breaks(environments):
    load_demo()
    add_traffic("production", total=100, errors_5xx=50, latency_ms=3000)
    out = io.StringIO()

    call_command("knoxcall", "evaluate-alerts", stdout=out)

    assert "2 opened" in out.getvalue()
    assert AlertIncident.objects.filter(environment__name="production").count() == 2
    assert not NotificationAttempt.objects.exists()  # the placeholder channels are disabled
