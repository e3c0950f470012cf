"""Writes to alert rules and notification channels: validated, permission-checked and audited.

Shaped for the console, the management API and the command line alike (keyword-only, model instances or
ids in, the saved instance out). Developers may not change a rule that covers a protected environment (a
rule with no environments covers all of them), nor a channel such a rule notifies. Channel secrets
(webhook URLs, routing keys, signing secrets) never reach the audit trail.
"""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from core.audit import Actor, record_change, snapshot
from core.permissions import require_change
from core.updates import apply_fields, refuse_unknown_fields
from environments.models import Environment
from knoxcall.lib.targets import UnsafeTargetError, check_target_url

from .models import (
    AlertRule,
    ChannelKind,
    Direction,
    NotificationAttempt,
    NotificationChannel,
    NotificationEvent,
    RuleType,
)
from .notifiers import channel_test_message, send_notification

RULE_FIELDS = [
    "name",
    "enabled",
    "route_id",
    "type",
    "direction",
    "threshold",
    "percentile",
    "status_codes",
    "window_minutes",
    "min_requests",
    "severity",
    "cooldown_minutes",
]
CHANNEL_FIELDS = ["name", "kind", "enabled"]
CHANNEL_CONFIG_KEYS = {
    ChannelKind.SLACK: ("webhook_url",),
    ChannelKind.PAGERDUTY: ("routing_key",),
    ChannelKind.EMAIL: ("addresses",),
    ChannelKind.WEBHOOK: ("url", "secret"),
}


# --- rules ------------------------------------------------------------------------------------------------


def protected_covered(environments: Iterable[Environment]) -> list[str]:
    """Protected environments a rule covers; no environments at all means every environment."""
    chosen = list(environments)
    pool = chosen or Environment.objects.all()
    return sorted(e.name for e in pool if e.is_protected)


def _rule_snapshot(rule: AlertRule) -> dict[str, Any]:
    data = snapshot(rule, RULE_FIELDS)
    data["environments"] = sorted(rule.environments.values_list("name", flat=True))
    data["channels"] = sorted(rule.channels.values_list("name", flat=True))
    return data


def validate_rule(rule: AlertRule) -> None:
    rule.full_clean(exclude=["environments", "channels"])
    if rule.direction == Direction.BELOW and rule.type != RuleType.REQUEST_VOLUME:
        raise ValidationError({"direction": "Only request volume rules can alert below a threshold."})
    if rule.type == RuleType.REQUEST_FAILURES:
        codes = rule.status_codes
        if not codes or not all(isinstance(c, int) and 100 <= c <= 599 for c in codes):
            raise ValidationError({"status_codes": "Give one or more HTTP status codes (100-599)."})
    if rule.threshold < 0:
        raise ValidationError({"threshold": "The threshold cannot be negative."})
    if rule.cooldown_minutes < 1:
        raise ValidationError({"cooldown_minutes": "The cooldown is at least one minute."})


RULE_EDITABLE = {*RULE_FIELDS, "route"}


@transaction.atomic
def alert_rule_create(
    *,
    actor: Actor,
    name: str,
    type: str,
    threshold: float,
    environments: Iterable[Environment] = (),
    channels: Iterable[NotificationChannel] = (),
    **fields: Any,
) -> AlertRule:
    refuse_unknown_fields(fields, RULE_EDITABLE, "alert rule")
    environments, channels = list(environments), list(channels)
    require_change(actor, protected=protected_covered(environments))
    rule = AlertRule(name=name, type=type, threshold=threshold, **fields)
    validate_rule(rule)
    rule.save()
    rule.environments.set(environments)
    rule.channels.set(channels)
    record_change(
        actor=actor,
        action="create",
        resource_type="alert_rule",
        resource_id=rule.pk,
        resource_name=rule.name,
        environment=environments[0].name if len(environments) == 1 else "",
        after=_rule_snapshot(rule),
    )
    return rule


@transaction.atomic
def alert_rule_update(
    *,
    actor: Actor,
    rule: AlertRule,
    environments: Iterable[Environment] | None = None,
    channels: Iterable[NotificationChannel] | None = None,
    **fields: Any,
) -> AlertRule:
    refuse_unknown_fields(fields, RULE_EDITABLE, "alert rule")
    rule = AlertRule.objects.select_for_update().get(pk=rule.pk)
    new_environments = list(environments) if environments is not None else list(rule.environments.all())
    covered = set(protected_covered(rule.environments.all())) | set(protected_covered(new_environments))
    require_change(actor, protected=sorted(covered))
    before = _rule_snapshot(rule)
    apply_fields(rule, fields, validate=validate_rule)
    rule.environments.set(new_environments)
    if channels is not None:
        rule.channels.set(list(channels))
    record_change(
        actor=actor,
        action="update",
        resource_type="alert_rule",
        resource_id=rule.pk,
        resource_name=rule.name,
        before=before,
        after=_rule_snapshot(rule),
    )
    return rule


@transaction.atomic
def alert_rule_delete(*, actor: Actor, rule: AlertRule) -> None:
    rule = AlertRule.objects.select_for_update().get(pk=rule.pk)
    require_change(actor, protected=protected_covered(rule.environments.all()))
    if rule.incidents.filter(resolved_at__isnull=True).exists():
        # Deleting would delete the incident with it and leave the PagerDuty incident open forever.
        raise ValidationError(
            "This rule has an open incident: disable it first; the next evaluation resolves the incident "
            "and sends the resolve notifications, then it can be deleted."
        )
    before = _rule_snapshot(rule)
    rule_id, name = rule.pk, rule.name
    rule.delete()
    record_change(
        actor=actor,
        action="delete",
        resource_type="alert_rule",
        resource_id=rule_id,
        resource_name=name,
        before=before,
    )


# --- channels ---------------------------------------------------------------------------------------------


def clean_channel_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The kind's settings, checked: URLs per the SSRF rules (with the alerts allow-list), addresses valid."""
    if kind not in CHANNEL_CONFIG_KEYS:
        raise ValidationError({"kind": f"Unknown channel kind {kind!r}."})
    cleaned = {key: config.get(key) for key in CHANNEL_CONFIG_KEYS[kind]}
    for key in ("webhook_url", "url"):
        if key in cleaned:
            try:
                check_target_url(str(cleaned[key] or ""), settings.ALERTS_ALLOWED_HOSTS)
            except UnsafeTargetError as exc:
                raise ValidationError({"config": f"{key}: {exc}"}) from exc
    if kind == ChannelKind.EMAIL:
        addresses = cleaned["addresses"] or []
        if isinstance(addresses, str):
            addresses = [a.strip() for a in addresses.replace(",", "\n").splitlines() if a.strip()]
        if not addresses:
            raise ValidationError({"config": "Give at least one email address."})
        for address in addresses:
            validate_email(address)
        cleaned["addresses"] = addresses
    for key in ("routing_key", "secret"):
        if key in cleaned:
            value = str(cleaned[key] or "")
            if not value or any(c in value for c in "\r\n\0"):
                raise ValidationError({"config": f"{key} is required (one line)."})
            cleaned[key] = value
    return cleaned


def _channel_snapshot(channel: NotificationChannel) -> dict[str, Any]:
    """Without secret values: which settings are present, and email addresses (not secret)."""
    data = snapshot(channel, CHANNEL_FIELDS)
    config = sorted(channel.config.items())
    data["config"] = {key: (value if key == "addresses" else "(set)") for key, value in config if value}
    return data


def channel_protected(channel: NotificationChannel) -> list[str]:
    names: set[str] = set()
    for rule in channel.rules.prefetch_related("environments"):
        names.update(protected_covered(rule.environments.all()))
    return sorted(names)


@transaction.atomic
def notification_channel_create(
    *, actor: Actor, name: str, kind: str, config: dict[str, Any], enabled: bool = True
) -> NotificationChannel:
    require_change(actor)
    cleaned = clean_channel_config(kind, config)
    channel = NotificationChannel(name=name, kind=kind, enabled=enabled, config=cleaned)
    channel.full_clean()
    channel.save()
    record_change(
        actor=actor,
        action="create",
        resource_type="notification_channel",
        resource_id=channel.pk,
        resource_name=channel.name,
        after=_channel_snapshot(channel),
    )
    return channel


@transaction.atomic
def notification_channel_update(
    *,
    actor: Actor,
    channel: NotificationChannel,
    name: str | None = None,
    enabled: bool | None = None,
    config: dict[str, Any] | None = None,
) -> NotificationChannel:
    """Change a channel; in `config`, a secret left empty keeps its current value (forms never show it)."""
    channel = NotificationChannel.objects.select_for_update().get(pk=channel.pk)
    require_change(actor, protected=channel_protected(channel))
    before = _channel_snapshot(channel)
    if name is not None:
        channel.name = name
    if enabled is not None:
        channel.enabled = enabled
    if config is not None:
        merged = {**channel.config, **{k: v for k, v in config.items() if v not in (None, "")}}
        channel.config = clean_channel_config(channel.kind, merged)
    channel.full_clean()
    channel.save()
    record_change(
        actor=actor,
        action="update",
        resource_type="notification_channel",
        resource_id=channel.pk,
        resource_name=channel.name,
        before=before,
        after=_channel_snapshot(channel),
    )
    return channel


@transaction.atomic
def notification_channel_delete(*, actor: Actor, channel: NotificationChannel) -> None:
    channel = NotificationChannel.objects.select_for_update().get(pk=channel.pk)
    require_change(actor, protected=channel_protected(channel))
    before = _channel_snapshot(channel)
    channel_id, name = channel.pk, channel.name
    channel.delete()
    record_change(
        actor=actor,
        action="delete",
        resource_type="notification_channel",
        resource_id=channel_id,
        resource_name=name,
        before=before,
    )


def notification_channel_test(*, actor: Actor, channel: NotificationChannel) -> NotificationAttempt:
    """Send a test notification now (even to a disabled channel: that is how one checks it) and record it.

    Synchronous on purpose: the person who pressed the button wants the answer. One attempt, no retries.
    """
    require_change(actor)
    result = send_notification(channel, channel_test_message(channel))
    return NotificationAttempt.objects.create(
        channel=channel,
        event=NotificationEvent.TEST,
        attempt=1,
        status_code=result.status_code,
        error=result.error,
        delivered=result.delivered,
        final=True,
    )
