"""Acceptance: the seed's production policy against real Slack-like and PagerDuty-like receivers."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from alerts.evaluation import OPENED, RENOTIFIED, RESOLVED, evaluate_alerts
from alerts.models import AlertIncident, ChannelKind, NotificationAttempt, RuleType, Severity
from alerts.services import (
    alert_rule_create,
    alert_rule_delete,
    alert_rule_update,
    notification_channel_create,
)
from core.audit import SYSTEM
from tests.alerts.conftest import add_traffic

pytestmark = pytest.mark.usefixtures("eager_tasks")


@pytest.fixture
def policy(environments, slack, pagerduty):
    """Production error rate > 5% -> Slack and PagerDuty; staging > 20% -> Slack; development nothing."""
    slack_channel = notification_channel_create(
        actor=SYSTEM,
        name="Slack",
        kind=ChannelKind.SLACK,
        config={"webhook_url": f"{slack.url}/services/T/B/X"},
    )
    pagerduty_channel = notification_channel_create(
        actor=SYSTEM, name="PagerDuty", kind=ChannelKind.PAGERDUTY, config={"routing_key": "R" * 32}
    )
    production = alert_rule_create(
        actor=SYSTEM,
        name="Production error rate",
        type=RuleType.ERROR_RATE,
        threshold=5.0,
        environments=[environments["production"]],
        channels=[slack_channel, pagerduty_channel],
        window_minutes=15,
        min_requests=10,
        cooldown_minutes=10,
        severity=Severity.CRITICAL,
    )
    alert_rule_create(
        actor=SYSTEM,
        name="Staging error rate",
        type=RuleType.ERROR_RATE,
        threshold=20.0,
        environments=[environments["staging"]],
        channels=[slack_channel],
        window_minutes=15,
        min_requests=10,
    )
    return production


def test_it_opens_one_incident_and_sends_one_slack_message_and_one_pagerduty_trigger(
    policy, slack, pagerduty
):
    add_traffic("production", total=100, errors_5xx=10)
    now = timezone.now()

    assert evaluate_alerts(now)[OPENED] == 1
    assert evaluate_alerts(now + timedelta(seconds=30)) == {RESOLVED: 0}

    incident = AlertIncident.objects.get()
    assert incident.rule == policy and incident.environment.name == "production"
    assert incident.observed_value == 10.0 and incident.is_open
    assert len(slack.received) == 1
    assert "Production error rate" in slack.received[0].json["text"]
    assert [d.json["event_action"] for d in pagerduty.received] == ["trigger"]
    event = pagerduty.received[0].json
    assert event["dedup_key"] == incident.dedup_key and event["routing_key"] == "R" * 32
    assert event["payload"]["severity"] == "critical"


def test_it_sends_nothing_for_the_same_traffic_in_development(policy, slack, pagerduty):
    add_traffic("development", total=100, errors_5xx=10)

    evaluate_alerts()

    assert not AlertIncident.objects.exists()
    assert slack.received == [] and pagerduty.received == []


def test_it_needs_min_requests_before_opening(policy, slack, pagerduty):
    add_traffic("production", total=5, errors_5xx=5)

    evaluate_alerts()

    assert not AlertIncident.objects.exists() and slack.received == []


def test_it_suppresses_repeats_during_the_cooldown_then_renotifies(policy, slack, pagerduty):
    start = timezone.now()
    add_traffic("production", total=100, errors_5xx=50, minute=start)

    evaluate_alerts(start)
    assert evaluate_alerts(start + timedelta(minutes=5)) == {RESOLVED: 0}
    assert evaluate_alerts(start + timedelta(minutes=11))[RENOTIFIED] == 1

    incident = AlertIncident.objects.get()
    assert len(slack.received) == 2
    assert [d.json["event_action"] for d in pagerduty.received] == ["trigger", "trigger"]
    assert {d.json["dedup_key"] for d in pagerduty.received} == {incident.dedup_key}


def test_it_resolves_on_recovery_and_sends_the_pagerduty_resolve(policy, slack, pagerduty):
    add_traffic("production", total=100, errors_5xx=10)
    evaluate_alerts()
    incident = AlertIncident.objects.get()

    add_traffic("production", total=900)  # healthy traffic: 10 errors in 1000 calls is 1%
    assert evaluate_alerts()[RESOLVED] == 1
    assert evaluate_alerts() == {RESOLVED: 0}

    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert [d.json["event_action"] for d in pagerduty.received] == ["trigger", "resolve"]
    assert pagerduty.received[1].json["dedup_key"] == incident.dedup_key
    assert len(slack.received) == 2 and "RESOLVED" in slack.received[1].json["text"]


def test_it_resolves_when_the_rule_is_disabled_and_only_then_lets_it_be_deleted(policy, slack, pagerduty):
    add_traffic("production", total=100, errors_5xx=10)
    evaluate_alerts()
    with pytest.raises(ValidationError):
        alert_rule_delete(actor=SYSTEM, rule=policy)

    alert_rule_update(actor=SYSTEM, rule=policy, enabled=False)
    assert evaluate_alerts()[RESOLVED] == 1

    assert [d.json["event_action"] for d in pagerduty.received] == ["trigger", "resolve"]
    alert_rule_delete(actor=SYSTEM, rule=policy)
    assert not AlertIncident.objects.exists()


def test_it_opens_a_new_incident_with_a_new_dedup_key_when_it_breaks_again(policy, slack, pagerduty):
    start = timezone.now()
    add_traffic("production", total=100, errors_5xx=10, minute=start)
    evaluate_alerts(start)
    evaluate_alerts(start + timedelta(minutes=16))  # the bad minute left the window
    add_traffic("production", total=100, errors_5xx=10, minute=start + timedelta(minutes=17))
    evaluate_alerts(start + timedelta(minutes=17))

    first, second = AlertIncident.objects.order_by("opened_at")
    assert first.resolved_at is not None and second.is_open
    keys = [d.json["dedup_key"] for d in pagerduty.received]
    assert keys == [first.dedup_key, first.dedup_key, second.dedup_key]


def test_it_delivers_exactly_once_to_a_receiver_answering_429_then_200(policy, slack, pagerduty):
    slack.reset((429, {"Retry-After": "1"}))
    add_traffic("production", total=100, errors_5xx=10)

    evaluate_alerts()

    assert len(slack.received) == 2 and len(slack.answered_ok) == 1
    attempts = NotificationAttempt.objects.filter(channel__kind=ChannelKind.SLACK).order_by("attempt")
    assert [(a.attempt, a.status_code, a.delivered) for a in attempts] == [(1, 429, False), (2, 200, True)]
    assert len(pagerduty.received) == 1


def test_it_does_not_retry_a_400_and_records_it_as_failed(policy, slack, pagerduty):
    slack.reset(default_status=400)
    add_traffic("production", total=100, errors_5xx=10)

    evaluate_alerts()

    assert len(slack.received) == 1
    attempt = NotificationAttempt.objects.get(channel__kind=ChannelKind.SLACK)
    assert (attempt.status_code, attempt.delivered, attempt.final) == (400, False, True)


def test_it_does_not_double_notify_when_two_evaluations_run_at_once(policy, slack, pagerduty):
    add_traffic("production", total=100, errors_5xx=10)
    now = timezone.now()
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def evaluate() -> None:
        try:
            barrier.wait(5)
            outcomes.append(evaluate_alerts(now))
        except Exception as exc:  # surfaced below: an exception in a thread would otherwise vanish
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert sum(o[OPENED] for o in outcomes) == 1
    assert AlertIncident.objects.count() == 1
    assert len(slack.received) == 1 and len(pagerduty.received) == 1
