"""Reads for the home page and the audit log."""

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import Count, QuerySet

from environments.models import AuditEntry, Environment
from routing.models import Route, RouteOverride

# Keys that could carry a secret in some other app's audit snapshot are never shown, whatever they hold.
HIDDEN_KEYS = {"value", "values", "ciphertext", "secret_value", "key_hash", "password"}


def client_count() -> int | None:
    """Clients arrive with another issue; until the model exists the home page leaves the count out."""
    try:
        model = apps.get_model("environments", "Client")
    except LookupError:
        return None
    return model.objects.count()


def totals() -> dict[str, int | None]:
    return {
        "routes": Route.objects.count(),
        "enabled_routes": Route.objects.filter(enabled=True).count(),
        "overrides": RouteOverride.objects.count(),
        "clients": client_count(),
    }


def _enabled_in(route: Route, environment_id: int) -> bool:
    override = next((o for o in route.overrides.all() if o.environment_id == environment_id), None)
    return override.enabled if override is not None and override.enabled is not None else route.enabled


def environment_cards() -> list[dict[str, Any]]:
    """Each environment with its override count and how many routes are effectively enabled in it."""
    environments = Environment.objects.annotate(override_count=Count("route_overrides")).order_by(
        "-is_default", "name")  # an aggregate query drops Meta.ordering
    routes = list(Route.objects.prefetch_related("overrides"))
    return [{"environment": e, "override_count": e.override_count,
             "enabled_routes": sum(_enabled_in(r, e.pk) for r in routes)} for e in environments]


def region_groups() -> list[dict[str, Any]]:
    """Each region group with its members in failover order; failover is active while one is down."""
    groups: dict[str, list[Environment]] = {}
    members = Environment.objects.exclude(region_group="").order_by("region_group", "failover_order", "name")
    for environment in members:
        groups.setdefault(environment.region_group, []).append(environment)
    return [
        {"name": name, "members": found,
         "failover_active": any(m.region_down_since is not None for m in found)}
        for name, found in groups.items()
    ]


AUDIT_FILTERS = ("actor", "resource", "action", "environment")


def audit_filters_from(params) -> dict[str, str]:
    return {name: params.get(name, "").strip() for name in AUDIT_FILTERS}


def audit_entries(*, actor: str = "", resource: str = "", action: str = "", environment: str = "",
                  resource_id: str = "") -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.all()
    if actor:
        entries = entries.filter(actor_label__icontains=actor)
    if resource:
        entries = entries.filter(resource_type=resource)
    if action:
        entries = entries.filter(action=action)
    if environment:
        entries = entries.filter(environment=environment)
    if resource_id:
        entries = entries.filter(resource_id=resource_id)
    return entries


def audit_filter_choices() -> dict[str, list[str]]:
    def distinct(field: str) -> list[str]:
        values = AuditEntry.objects.order_by(field).values_list(field, flat=True).distinct()
        return [v for v in values if v]

    return {"resource": distinct("resource_type"), "action": distinct("action"),
            "environment": distinct("environment")}


@dataclass
class Change:
    field: str
    before: Any
    after: Any


def audit_changes(before: dict | None, after: dict | None) -> list[Change]:
    """The fields that differ between two snapshots, secrets hidden."""
    before, after = before or {}, after or {}
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new or (old in (None, "") and new in (None, "")):
            continue
        if key in HIDDEN_KEYS:
            old, new = ("•••" if old is not None else None), ("•••" if new is not None else None)
        changes.append(Change(key, old, new))
    return changes


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    # In an override, NULL means "inherits from the base route", which is how the diff should read.
    return {"entry": entry, "changes": audit_changes(entry.before, entry.after),
            "created": entry.before is None, "none_label": "inherit" if entry.action == "override" else "—"}
