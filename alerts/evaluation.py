"""Evaluate every enabled rule in each environment it covers: open, re-notify and resolve incidents.

Idempotent and safe to run twice at once: each (rule, environment) decision happens in a transaction that
locks the rule row (PostgreSQL; SQLite's IMMEDIATE transactions serialise writers anyway), the partial
unique constraint allows one open incident per (rule, environment), and notifications are queued only
after the decision commits, so a rolled-back decision sends nothing.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.rollup import rollup
from analytics.selectors import Metrics
from environments.models import Environment

from .metrics import (
    metric_totals_for_window,
    observed_value,
    request_failures_for_window,
    window_start,
)
from .models import AlertIncident, AlertRule, Direction, NotificationEvent, RuleType

OPENED, RENOTIFIED, RESOLVED = "opened", "renotified", "resolved"


@dataclass(frozen=True)
class Measurement:
    value: float | None
    requests: int
    firing: bool


def condition_holds(rule: AlertRule, value: float | None, requests: int) -> bool:
    """Pure: does this value break the rule? Too few calls never fires, except for 'volume below'."""
    if value is None:
        return False
    if rule.type == RuleType.REQUEST_VOLUME and rule.direction == Direction.BELOW:
        return value < rule.threshold
    return requests >= rule.min_requests and value > rule.threshold


def measure(rule: AlertRule, environment: Environment, now: datetime) -> Measurement:
    """The rule's observed value in one environment over its window ending now."""
    since = window_start(now, rule.window_minutes)
    scope = {"environment": environment.name, "route_id": rule.route_id, "since": since, "until": now}
    totals, failures = metric_totals_for_window(**scope), 0
    if rule.type == RuleType.REQUEST_FAILURES:
        failures, requests = request_failures_for_window(**scope, status_codes=list(rule.status_codes))
        totals = Metrics(total=requests)
    value = observed_value(rule.type, totals, rule.percentile, failures)
    return Measurement(value=value, requests=totals.total, firing=condition_holds(rule, value, totals.total))


def rule_environments(rule: AlertRule) -> list[Environment]:
    chosen = list(rule.environments.all())
    return chosen or list(Environment.objects.all())


def rollup_then_evaluate() -> Counter:
    """Fold every pending request log into its bucket, then evaluate: the beat task and the CLI run this.

    Run as one task, the evaluation cannot read a minute before the rollup wrote it (two tasks dispatched
    at the same moment could run in either order); its window ends when the rollup has finished.
    """
    rollup()
    return evaluate_alerts()


def evaluate_alerts(now: datetime | None = None) -> Counter:
    """Evaluate all enabled rules; returns how many incidents were opened, re-notified and resolved."""
    now = now or timezone.now()
    outcome: Counter = Counter()
    for rule in AlertRule.objects.filter(enabled=True).prefetch_related("environments"):
        for environment in rule_environments(rule):
            action = evaluate_rule_in_environment(rule, environment, now)
            if action:
                outcome[action] += 1
    outcome[RESOLVED] += resolve_out_of_scope(now)
    return outcome


def evaluate_rule_in_environment(rule: AlertRule, environment: Environment, now: datetime) -> str | None:
    measurement = measure(rule, environment, now)
    try:
        return _decide(rule, environment, measurement, now)
    except IntegrityError:
        # Another evaluation opened the incident between our read and our insert (possible only where the
        # rule lock is unavailable); the constraint kept it to one incident and that run notifies.
        return None


def _decide(rule: AlertRule, environment: Environment, measurement: Measurement, now: datetime) -> str | None:
    with transaction.atomic():
        if not AlertRule.objects.select_for_update().filter(pk=rule.pk, enabled=True).exists():
            return None
        incident = _open_incident(rule, environment)
        if measurement.firing and incident is None:
            incident = AlertIncident.objects.create(
                rule=rule,
                environment=environment,
                environment_name=environment.name,
                route_id=rule.route_id,
                observed_value=measurement.value,
                threshold=rule.threshold,
                opened_at=now,
            )
            _notify(incident, NotificationEvent.TRIGGER, now)
            return OPENED
        if measurement.firing and _cooldown_elapsed(incident, rule, now):
            incident.observed_value = measurement.value
            _notify(incident, NotificationEvent.RENOTIFY, now)
            return RENOTIFIED
        if not measurement.firing and incident is not None:
            _resolve(incident, now)
            return RESOLVED
    return None


def resolve_out_of_scope(now: datetime) -> int:
    """Resolve open incidents whose rule was disabled or no longer covers their environment (or whose
    environment was deleted)."""
    resolved = 0
    for incident in AlertIncident.objects.filter(resolved_at__isnull=True).select_related("rule"):
        rule = incident.rule
        scope = rule.environments
        exists = incident.environment_id is not None
        covered = exists and (not scope.exists() or scope.filter(pk=incident.environment_id).exists())
        if rule.enabled and covered:
            continue
        with transaction.atomic():
            still_open = AlertIncident.objects.filter(pk=incident.pk, resolved_at__isnull=True)
            current = still_open.select_for_update().first()
            if current is not None:
                _resolve(current, now)
                resolved += 1
    return resolved


def _open_incident(rule: AlertRule, environment: Environment) -> AlertIncident | None:
    return (
        AlertIncident.objects.select_for_update()
        .filter(rule=rule, environment=environment, resolved_at__isnull=True)
        .first()
    )


def _cooldown_elapsed(incident: AlertIncident | None, rule: AlertRule, now: datetime) -> bool:
    if incident is None or incident.last_notified_at is None:
        return incident is not None
    return now - incident.last_notified_at >= timedelta(minutes=rule.cooldown_minutes)


def _notify(incident: AlertIncident, event: str, now: datetime) -> None:
    incident.notify_sequence += 1
    incident.last_notified_at = now
    incident.save()
    _queue_after_commit(incident, event)


def _resolve(incident: AlertIncident, now: datetime) -> None:
    incident.resolved_at = now
    incident.save(update_fields=["resolved_at"])
    _queue_after_commit(incident, NotificationEvent.RESOLVE)


def _queue_after_commit(incident: AlertIncident, event: str) -> None:
    from .tasks import queue_deliveries

    channel_ids = list(incident.rule.channels.filter(enabled=True).values_list("pk", flat=True))
    transaction.on_commit(
        partial(queue_deliveries, str(incident.pk), channel_ids, str(event), incident.notify_sequence)
    )
