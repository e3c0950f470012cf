"""Reads of the audit trail: filtering entries and turning two snapshots into the changes shown."""

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from .models import AuditEntry

# Keys that could carry a secret in some other app's audit snapshot are never shown, whatever they hold.
HIDDEN_KEYS = {"value", "values", "ciphertext", "secret_value", "key_hash", "password"}


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
