"""Expiry of temporary environments: 410 at once, archived by the Celery task, history kept, name reserved."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import AlertIncident, AlertRule, NotificationAttempt, NotificationChannel
from analytics.models import MetricBucket, RequestLog
from analytics.rollup import purge, rollup
from configuration import tasks
from core.audit import SYSTEM
from core.models import AuditEntry
from environments.lifecycle import archived_names_purge
from environments.models import ArchivedEnvironment, Environment
from environments.selectors import deleted_environment_names
from environments.services import environment_create, environment_update
from routing.models import RouteClient, RouteOverride
from routing.services import route_create, route_override_update
from secrets_vault.models import SecretValue
from secrets_vault.services import secret_create, secret_set_value
from tests.support.access import allow_local_callers

NAME = "feature-payment-v2"


@pytest.fixture
def feature(gateway, upstream, environments):
    route = route_create(actor=SYSTEM, name="Payments", slug="payments", target_base_url=upstream.url)
    allow_local_callers(route, ["staging"])
    feature = environment_create(actor=SYSTEM, name=NAME, clone_from=environments["staging"], ttl_hours=1)
    route_override_update(actor=SYSTEM, route=route, environment=feature, timeout_ms=4000)
    secret = secret_create(actor=SYSTEM, name="FEATURE_TOKEN")
    secret_set_value(actor=SYSTEM, secret=secret, environment=feature, value="f-1")
    rule = AlertRule.objects.create(name="errors", type="error_rate", threshold=5)
    rule.environments.add(feature, environments["staging"])
    AlertRule.objects.create(name="feature only", type="error_rate", threshold=5).environments.add(feature)
    AlertIncident.objects.create(
        rule=rule,
        environment=feature,
        environment_name=NAME,
        observed_value=9,
        threshold=5,
        opened_at=timezone.now(),
    )
    gateway.reload()
    return feature


def _history() -> tuple[int, int, int, int]:
    return (
        RequestLog.objects.filter(environment=NAME).count(),
        MetricBucket.objects.filter(environment=NAME).count(),
        AuditEntry.objects.filter(environment=NAME).count(),
        AlertIncident.objects.filter(environment_name=NAME).count(),
    )


def _served(environment_id: int) -> tuple[int, int, int]:
    return (
        RouteOverride.objects.filter(environment_id=environment_id).count(),
        RouteClient.objects.filter(environment_id=environment_id).count(),
        SecretValue.objects.filter(environment_id=environment_id).count(),
    )


def test_an_expired_environment_answers_410_and_is_archived_with_its_history_kept(gateway, upstream, feature):
    from analytics.recorder import flush

    assert gateway.get("/a", route="payments", environment=NAME).status_code == 200
    flush()
    rollup()
    before = _history()
    assert before[0] == 1 and before[1] == 1 and before[3] == 1 and _served(feature.pk) == (1, 2, 1)

    environment_update(actor=SYSTEM, environment=feature, expires_at=timezone.now() - timedelta(seconds=1))
    gateway.reload()
    expired = gateway.get("/b", route="payments", environment=NAME)
    assert expired.status_code == 410 and expired.json()["code"] == "environment_expired"  # before the task

    result = tasks.expire()

    assert result["archived"] == [NAME]
    assert _served(feature.pk) == (0, 0, 0)
    assert not Environment.objects.filter(name=NAME).exists()
    assert AlertRule.objects.get(name="errors").environments.count() == 1  # staging's link stays
    only_feature = AlertRule.objects.get(name="feature only")  # else it would now watch every environment
    assert not only_feature.enabled and only_feature.environments.count() == 0
    gateway.reload()
    still = gateway.get("/c", route="payments", environment=NAME)
    assert still.status_code == 410 and still.json()["code"] == "environment_expired"
    flush()
    after = _history()
    assert after[0] == before[0] + 2  # the two 410s are logged under the name too
    assert (after[1], after[3]) == (before[1], before[3]) and after[2] > before[2]
    assert AuditEntry.objects.filter(action="expire", environment=NAME).count() == 1
    assert NAME in deleted_environment_names()  # the console's log filter still offers it
    assert upstream.complete[0].path == "/a" and len(upstream.complete) == 1


def test_the_name_stays_reserved_until_its_logs_are_purged(feature, environments):
    Environment.objects.filter(pk=feature.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    tasks.expire()
    with pytest.raises(Exception, match="reserved"):
        environment_create(actor=SYSTEM, name=NAME)
    assert archived_names_purge(now=timezone.now() + timedelta(days=30)) == 1
    purge(now=timezone.now() + timedelta(days=30))
    assert environment_create(actor=SYSTEM, name=NAME).name == NAME
    assert not ArchivedEnvironment.objects.exists()


def test_an_extended_environment_is_not_archived(feature):
    Environment.objects.filter(pk=feature.pk).update(expires_at=timezone.now() + timedelta(minutes=5))
    assert tasks.expire()["archived"] == []
    assert _served(feature.pk) == (1, 2, 1)


def test_the_channels_are_told_an_hour_before_expiry_once(feature, environments):
    channel = NotificationChannel.objects.create(
        name="ops", kind="webhook", config={"url": "http://127.0.0.1:9/hook"}
    )
    Environment.objects.filter(pk=feature.pk).update(expires_at=timezone.now() + timedelta(minutes=30))
    assert tasks.expire()["notified"] == [NAME]
    assert tasks.expire()["notified"] == []
    attempts = NotificationAttempt.objects.filter(channel=channel, event="expiry")
    assert attempts.count() == 1  # delivered or not (nobody listens on port 9), it is on record
