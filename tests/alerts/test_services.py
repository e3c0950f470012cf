"""Writes to rules and channels: permissions, validation, SSRF rules and an audit trail without secrets."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from alerts.models import ChannelKind, Direction, RuleType
from alerts.services import (
    alert_rule_create,
    alert_rule_delete,
    alert_rule_update,
    notification_channel_create,
    notification_channel_update,
)
from core.audit import SYSTEM, Actor
from core.models import AuditEntry, ConfigVersion
from core.permissions import DEVELOPER, VIEWER

DEVELOPER_ACTOR = Actor(label="dev", role=DEVELOPER)
CANARY = "canary-routing-key-5f1e"


def test_it_audits_channel_writes_without_secret_values(environments):
    version = ConfigVersion.objects.get().version
    channel = notification_channel_create(
        actor=SYSTEM, name="PD", kind=ChannelKind.PAGERDUTY, config={"routing_key": CANARY}
    )
    notification_channel_update(actor=SYSTEM, channel=channel, config={"routing_key": CANARY + "-2"})

    entries = AuditEntry.objects.filter(resource_type="notification_channel")
    assert [e.action for e in entries.order_by("timestamp")] == ["create", "update"]
    assert all(CANARY not in str(e.before) + str(e.after) for e in entries)
    assert ConfigVersion.objects.get().version == version  # channels are not what the proxy serves
    channel.refresh_from_db()
    assert channel.config["routing_key"] == CANARY + "-2"


def test_it_keeps_a_secret_left_empty_on_update(environments, settings):
    settings.ALERTS_ALLOWED_HOSTS = []
    channel = notification_channel_create(
        actor=SYSTEM,
        name="Hook",
        kind=ChannelKind.WEBHOOK,
        config={"url": "https://example.com/h", "secret": "x"},
    )

    new_config = {"url": "https://example.org/h", "secret": ""}
    notification_channel_update(actor=SYSTEM, channel=channel, config=new_config)

    channel.refresh_from_db()
    assert channel.config == {"url": "https://example.org/h", "secret": "x"}


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest",
        "https://user:pw@hooks.example.com/x",
        "ftp://hooks.example.com/x",
        "http://localhost:9000/x",
        "http://metadata.google.internal./x",
        "http://app.localhost.:9000/x",
    ],
)
def test_it_refuses_unsafe_webhook_urls(environments, settings, url):
    settings.ALERTS_ALLOWED_HOSTS = []
    with pytest.raises(ValidationError):
        notification_channel_create(
            actor=SYSTEM, name="S", kind=ChannelKind.SLACK, config={"webhook_url": url}
        )


def test_it_allows_a_private_host_on_the_admin_allow_list(environments, settings):
    settings.ALERTS_ALLOWED_HOSTS = ["10.0.0.5"]
    channel = notification_channel_create(
        actor=SYSTEM, name="S", kind=ChannelKind.SLACK, config={"webhook_url": "http://10.0.0.5/hook"}
    )
    assert channel.config["webhook_url"] == "http://10.0.0.5/hook"


def test_it_keeps_developers_off_rules_that_cover_production(environments):
    with pytest.raises(PermissionDenied):
        alert_rule_create(actor=DEVELOPER_ACTOR, name="All", type=RuleType.ERROR_RATE, threshold=5)
    staging = alert_rule_create(
        actor=DEVELOPER_ACTOR,
        name="Staging",
        type=RuleType.ERROR_RATE,
        threshold=5,
        environments=[environments["staging"]],
    )
    with pytest.raises(PermissionDenied):
        alert_rule_update(actor=DEVELOPER_ACTOR, rule=staging, environments=[environments["production"]])
    production = alert_rule_create(
        actor=SYSTEM,
        name="Prod",
        type=RuleType.ERROR_RATE,
        threshold=5,
        environments=[environments["production"]],
    )
    with pytest.raises(PermissionDenied):
        alert_rule_delete(actor=DEVELOPER_ACTOR, rule=production)
    with pytest.raises(PermissionDenied):
        alert_rule_create(
            actor=Actor(label="v", role=VIEWER),
            name="V",
            type=RuleType.ERROR_RATE,
            threshold=1,
            environments=[environments["development"]],
        )


def test_it_keeps_developers_off_channels_that_production_rules_use(environments):
    channel = notification_channel_create(
        actor=DEVELOPER_ACTOR, name="PD", kind=ChannelKind.PAGERDUTY, config={"routing_key": "k"}
    )
    alert_rule_create(
        actor=SYSTEM,
        name="Prod",
        type=RuleType.ERROR_RATE,
        threshold=5,
        environments=[environments["production"]],
        channels=[channel],
    )

    with pytest.raises(PermissionDenied):
        notification_channel_update(actor=DEVELOPER_ACTOR, channel=channel, enabled=False)


@pytest.mark.parametrize(
    "fields",
    [
        {"type": RuleType.ERROR_RATE, "direction": Direction.BELOW},
        {"type": RuleType.REQUEST_FAILURES, "status_codes": []},
        {"type": RuleType.REQUEST_FAILURES, "status_codes": [999]},
        {"type": RuleType.ERROR_RATE, "cooldown_minutes": 0},
        {"type": RuleType.ERROR_RATE, "threshold": -1},
    ],
)
def test_it_validates_rules(environments, fields):
    with pytest.raises(ValidationError):
        alert_rule_create(actor=SYSTEM, name="Bad", **{"threshold": 5, **fields})
