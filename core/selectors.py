"""Reads of the audit trail: filtering entries and turning two snapshots into the changes shown."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from .filters import AuditFilterSet
from .models import AuditEntry, ConfigChange, ConfigVersion

# Keys that could carry a secret in some other app's audit snapshot are never shown, whatever they hold.
HIDDEN_KEYS = {"value", "values", "ciphertext", "secret_value", "key_hash", "password"}


def config_version() -> tuple[int, datetime | None]:
    """The configuration version and when its row was created: a recreated row (a reset or restored
    database) counts from 1 again, and its date tells its versions from the ones counted before."""
    return ConfigVersion.objects.filter(pk=1).values_list("version", "changed_at").first() or (0, None)


def config_scopes_between(after: int, upto: int) -> set[str] | None:
    """What versions after+1..upto changed (core.audit.scope strings), or None when the change log lacks
    one of them (pruned, or written before the log existed): then only a whole rebuild is safe."""
    rows = list(
        ConfigChange.objects.filter(version__gt=after, version__lte=upto).values_list("version", "scopes")
    )
    if len(rows) != upto - after:
        return None
    return {entry for _, scopes in rows for entry in scopes}


def audit_entries(**filters: str) -> QuerySet[AuditEntry]:
    """Entries matching AuditFilterSet's filters (actor, resource_type, action, environment, resource_id)."""
    return AuditFilterSet(filters).entries()


def audit_filter_choices() -> dict[str, list[str]]:
    def distinct(field: str) -> list[str]:
        values = AuditEntry.objects.order_by(field).values_list(field, flat=True).distinct()
        return [v for v in values if v]

    return {
        "resource": distinct("resource_type"),
        "action": distinct("action"),
        "environment": distinct("environment"),
    }


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
    return {
        "entry": entry,
        "changes": audit_changes(entry.before, entry.after),
        "created": entry.before is None,
        "none_label": "inherit" if entry.action == "override" else "—",
    }
