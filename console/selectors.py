"""Reads for the home page and the audit log."""

from typing import Any

from django.db.models import Count

from alerts.models import AlertIncident, AlertRule
from analytics.models import MetricBucket, RequestLog
from core.models import AuditEntry
from environments.models import Client, Environment
from routing.models import Route, RouteClient, RouteOverride
from secrets_vault.models import SecretValue


def totals() -> dict[str, int | None]:
    return {
        "routes": Route.objects.count(),
        "enabled_routes": Route.objects.filter(enabled=True).count(),
        "overrides": RouteOverride.objects.count(),
        "clients": Client.objects.count(),
    }


def _enabled_in(route: Route, environment_id: int) -> bool:
    override = next((o for o in route.overrides.all() if o.environment_id == environment_id), None)
    return override.enabled if override is not None and override.enabled is not None else route.enabled


def environment_cards() -> list[dict[str, Any]]:
    """Each environment with its override count and how many routes are effectively enabled in it."""
    environments = Environment.objects.annotate(override_count=Count("route_overrides")).order_by(
        "-is_default", "name"
    )  # an aggregate query drops Meta.ordering
    routes = list(Route.objects.prefetch_related("overrides"))
    return [
        {
            "environment": e,
            "override_count": e.override_count,
            "enabled_routes": sum(_enabled_in(r, e.pk) for r in routes),
        }
        for e in environments
    ]


def environment_dependents(environment: Environment) -> dict[str, list[str]]:
    """What goes with an environment when it is deleted: overrides, assignments, secret values, rule links."""
    overrides = RouteOverride.objects.filter(environment=environment).select_related("route")
    assignments = RouteClient.objects.filter(environment=environment).select_related("route", "client")
    values = SecretValue.objects.filter(environment=environment).select_related("secret")
    return {
        "Route overrides": [str(o.route) for o in overrides],
        "Client assignments": [f"{a.client} on {a.route}" for a in assignments],
        "Secret values": [f"{v.secret.name} (version {v.value_version})" for v in values],
        "Alert rule links": [rule.name for rule in AlertRule.objects.filter(environments=environment)],
    }


def region_groups() -> list[dict[str, Any]]:
    """Each region group with its members in failover order; failover is active while one is down."""
    groups: dict[str, list[Environment]] = {}
    members = Environment.objects.exclude(region_group="").order_by("region_group", "failover_order", "name")
    for environment in members:
        groups.setdefault(environment.region_group, []).append(environment)
    return [
        {
            "name": name,
            "members": found,
            "failover_active": any(m.region_down_since is not None for m in found),
        }
        for name, found in groups.items()
    ]


def environment_history(environment: Environment) -> dict[str, int]:
    """What stays when an environment is deleted, counted: it remains readable and filterable by name."""
    name = environment.name
    return {
        "Request logs": RequestLog.objects.filter(environment=name).count(),
        "Metric buckets": MetricBucket.objects.filter(environment=name).count(),
        "Audit entries": AuditEntry.objects.filter(environment=name).count(),
        "Alert incidents": AlertIncident.objects.filter(environment_name=name).count(),
    }
