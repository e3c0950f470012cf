"""Delivery: retries and their limits, the redelivery guard, webhook signatures, email, SSRF at send time."""

import hashlib
import hmac

import pytest
from django.core import mail

from alerts.delivery import backoff_seconds
from alerts.evaluation import evaluate_alerts
from alerts.models import AlertIncident, ChannelKind, NotificationAttempt, RuleType
from alerts.services import alert_rule_create, notification_channel_create
from alerts.tasks import deliver_notification
from core.audit import SYSTEM
from tests.alerts.conftest import add_traffic
from tests.support.dns import resolve_names

pytestmark = pytest.mark.usefixtures("eager_tasks")


def fire(environments, channel) -> AlertIncident:
    alert_rule_create(
        actor=SYSTEM,
        name="Errors",
        type=RuleType.ERROR_RATE,
        threshold=5.0,
        environments=[environments["production"]],
        channels=[channel],
        min_requests=1,
    )
    add_traffic("production", total=10, errors_5xx=5)
    evaluate_alerts()
    return AlertIncident.objects.get()


def slack_channel(url: str, **kwargs):
    return notification_channel_create(
        actor=SYSTEM, name="Slack", kind=ChannelKind.SLACK, config={"webhook_url": url}, **kwargs
    )


def test_it_backs_off_exponentially_honours_retry_after_and_caps_both():
    assert [backoff_seconds(n, None, base=10, cap=600) for n in (1, 2, 3)] == [10, 20, 40]
    assert backoff_seconds(9, None, base=10, cap=600) == 600
    assert backoff_seconds(1, 30, base=10, cap=600) == 30
    assert backoff_seconds(1, 86400, base=10, cap=600) == 600


def test_it_never_sends_a_delivered_event_twice_when_the_task_is_redelivered(environments, slack):
    channel = slack_channel(f"{slack.url}/hook")
    incident = fire(environments, channel)

    deliver_notification.apply(args=(str(incident.pk), channel.pk, "trigger", incident.notify_sequence))

    assert len(slack.received) == 1
    assert NotificationAttempt.objects.count() == 1


def test_it_stops_retrying_5xx_after_the_configured_attempts(environments, slack, settings):
    settings.ALERTS_DELIVERY_MAX_ATTEMPTS = 3
    slack.reset(default_status=503)

    fire(environments, slack_channel(f"{slack.url}/hook"))

    assert len(slack.received) == 3
    attempts = list(NotificationAttempt.objects.order_by("attempt"))
    assert [(a.attempt, a.status_code, a.final) for a in attempts] == [
        (1, 503, False),
        (2, 503, False),
        (3, 503, True),
    ]


def test_it_signs_webhook_bodies_with_the_channel_secret(environments, slack):
    channel = notification_channel_create(
        actor=SYSTEM,
        name="Hook",
        kind=ChannelKind.WEBHOOK,
        config={"url": f"{slack.url}/in", "secret": "s3"},
    )

    incident = fire(environments, channel)

    received = slack.received[0]
    expected = "sha256=" + hmac.new(b"s3", received.body, hashlib.sha256).hexdigest()
    assert received.headers["X-Webhook-Signature"] == expected
    assert received.json["dedup_key"] == incident.dedup_key and received.json["event"] == "trigger"


def test_it_emails_the_channel_addresses(environments):
    channel = notification_channel_create(
        actor=SYSTEM,
        name="Mail",
        kind=ChannelKind.EMAIL,
        config={"addresses": "a@example.com, b@example.com"},
    )

    fire(environments, channel)

    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["a@example.com", "b@example.com"]
    assert "Errors" in mail.outbox[0].subject


def test_it_refuses_at_send_time_a_url_the_allow_list_no_longer_covers(environments, slack, settings):
    channel = slack_channel(f"{slack.url}/hook")
    settings.ALERTS_ALLOWED_HOSTS = []

    fire(environments, channel)

    attempt = NotificationAttempt.objects.get()
    assert slack.received == [] and not attempt.delivered and attempt.final
    assert "administrator must allow" in attempt.error


def test_it_sends_nothing_to_a_disabled_channel(environments, slack):
    fire(environments, slack_channel(f"{slack.url}/hook", enabled=False))

    assert slack.received == [] and not NotificationAttempt.objects.exists()


def test_it_refuses_at_send_time_a_webhook_name_that_resolves_to_loopback(
    environments, slack, settings, monkeypatch
):
    settings.ALERTS_ALLOWED_HOSTS = []
    resolve_names(monkeypatch, {"hooks.example.com": "127.0.0.1"})
    channel = slack_channel(f"http://hooks.example.com:{slack.port}/hook")  # a public name when saved

    fire(environments, channel)

    attempt = NotificationAttempt.objects.get()
    assert slack.received == [] and not attempt.delivered and attempt.final
    assert "resolves to 127.0.0.1" in attempt.error


def test_it_delivers_to_a_name_the_allow_list_covers_with_its_host_header(
    environments, slack, settings, monkeypatch
):
    settings.ALERTS_ALLOWED_HOSTS = ["hooks.example.com"]
    resolve_names(monkeypatch, {"hooks.example.com": "127.0.0.1"})

    fire(environments, slack_channel(f"http://hooks.example.com:{slack.port}/hook"))

    assert len(slack.received) == 1
    assert slack.received[0].headers["Host"] == f"hooks.example.com:{slack.port}"
