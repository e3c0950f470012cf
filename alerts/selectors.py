"""Reads for the alerts pages (and, later, the management API): lists filtered by environment, previews."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from environments.models import Environment

from .evaluation import Measurement, measure, rule_environments
from .models import AlertIncident, AlertRule, NotificationAttempt, NotificationChannel


def _covers(environment: str | None) -> Q:
    """Rules that cover an environment: those naming it and those naming none (every environment)."""
    if not environment:
        return Q()
    return Q(environments__name=environment) | Q(environments__isnull=True)


def alert_rule_list(*, environment: str | None = None) -> QuerySet[AlertRule]:
    rules = AlertRule.objects.filter(_covers(environment)).distinct()
    return rules.select_related("route").prefetch_related("environments", "channels")


def notification_channel_list(*, environment: str | None = None) -> QuerySet[NotificationChannel]:
    channels = NotificationChannel.objects.all()
    if environment:
        rules = alert_rule_list(environment=environment)
        channels = channels.filter(rules__in=rules).distinct()
    return channels.prefetch_related("rules")


def alert_incident_list(*, environment: str | None = None, state: str = "") -> QuerySet[AlertIncident]:
    incidents = AlertIncident.objects.select_related("rule", "environment", "route")
    if environment:
        incidents = incidents.filter(environment_name=environment)
    if state == "open":
        incidents = incidents.filter(resolved_at__isnull=True)
    elif state == "resolved":
        incidents = incidents.filter(resolved_at__isnull=False)
    return incidents


def incident_attempts(incident: AlertIncident) -> QuerySet[NotificationAttempt]:
    return incident.attempts.select_related("channel").order_by("attempted_at", "id")


def channel_recent_attempts(channel: NotificationChannel, limit: int = 20) -> list[NotificationAttempt]:
    return list(channel.attempts.select_related("incident").order_by("-attempted_at", "-id")[:limit])


@dataclass(frozen=True)
class PreviewRow:
    environment: Environment
    measurement: Measurement


def alert_rule_preview(rule: AlertRule) -> list[PreviewRow]:
    """Would the rule fire now? Its current value in each environment it covers (nothing is written)."""
    now = timezone.now()
    return [PreviewRow(env, measure(rule, env, now)) for env in rule_environments(rule)]
