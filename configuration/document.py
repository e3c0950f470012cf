"""Configuration as code: the gateway's configuration as one YAML document, and applying one back.

`export_config()` reads environments, secrets (names only: values never leave the vault), clients, routes
with their overrides and client assignments, and alert rules. Each route is `route_document()` from
routing.document, the one canonical shape of a route (base values, sparse overrides per environment, client
assignments) that export, revisions and the deployment workflows share. `plan()` compares a document with
the database and `configuration.apply.apply_plan()` carries the changes out through the services (so they
are validated, permission checked and audited), in one transaction. Resources missing from the document are
deleted, except secrets, whose values a document cannot restore.
"""

from dataclasses import dataclass, field
from typing import Any

import yaml
from django.utils.dateparse import parse_datetime

from alerts.models import AlertRule
from environments.models import Client, Environment
from routing.document import route_document
from routing.models import Route
from secrets_vault.models import Secret

FORMAT_VERSION = 1
ENVIRONMENT_KEYS = [
    "display_name",
    "description",
    "color",
    "is_default",
    "is_protected",
    "region",
    "expires_at",
]
CLIENT_KEYS = ["type", "ip_address", "description", "enabled"]
RULE_KEYS = [
    "enabled",
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
SECTIONS = ("environments", "secrets", "clients", "routes", "alert_rules")


def _environment(e: Environment) -> dict:
    data = {"name": e.name, **{k: getattr(e, k) for k in ENVIRONMENT_KEYS}}
    data["expires_at"] = e.expires_at.isoformat() if e.expires_at else None
    return data


def _rule(rule: AlertRule) -> dict:
    return {
        "name": rule.name,
        **{k: getattr(rule, k) for k in RULE_KEYS},
        "route": rule.route.slug if rule.route else None,
        "environments": sorted(e.name for e in rule.environments.all()),
        "channels": sorted(c.name for c in rule.channels.all()),
    }


def export_config() -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "environments": [_environment(e) for e in Environment.objects.order_by("-is_default", "name")],
        "secrets": [
            {"name": s.name, "secret_type": s.secret_type, "description": s.description}
            for s in Secret.objects.order_by("name")
        ],
        "clients": [
            {"name": c.name, **{k: getattr(c, k) for k in CLIENT_KEYS}}
            for c in Client.objects.order_by("name")
        ],
        "routes": [route_document(r) for r in Route.objects.order_by("slug")],
        "alert_rules": [_rule(r) for r in AlertRule.objects.select_related("route").order_by("name")],
    }


def dump(config: dict) -> str:
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True, default_flow_style=False)


def load(text: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"The configuration file is not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError("The configuration file must be a YAML mapping.")
    unknown = set(document) - {"version", *SECTIONS}
    if unknown:
        raise ValueError(f"Unknown sections: {', '.join(sorted(unknown))}.")
    if document.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        raise ValueError(
            f"Unsupported format version {document.get('version')!r}; expected {FORMAT_VERSION}."
        )
    for section in SECTIONS:
        items = document.setdefault(section, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError(f"'{section}' must be a list of mappings.")
    return document


# --- the plan ---------------------------------------------------------------------------------------------
@dataclass
class Change:
    action: str  # create, update, delete
    kind: str  # environment, secret, client, route, alert_rule
    name: str
    fields: dict[str, Any] = field(default_factory=dict)  # desired values (create) or changed ones (update)
    before: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        sign = {"create": "+", "update": "~", "delete": "-"}[self.action]
        line = f"{sign} {self.kind} {self.name}"
        if self.action == "update":
            line += ": " + ", ".join(f"{k} {self.before.get(k)!r} -> {v!r}" for k, v in self.fields.items())
        return line


KEYS = {"environments": "name", "secrets": "name", "clients": "name", "routes": "slug", "alert_rules": "name"}
KINDS = {
    "environments": "environment",
    "secrets": "secret",
    "clients": "client",
    "routes": "route",
    "alert_rules": "alert_rule",
}


def plan(desired: dict[str, Any]) -> list[Change]:
    """The changes that make the database match `desired`, in the order they can be applied."""
    current = export_config()
    creates_updates, deletes = [], []
    for section in SECTIONS:
        key, kind = KEYS[section], KINDS[section]
        have = {item[key]: item for item in current[section]}
        want = {}
        for item in desired[section]:
            if key not in item:
                raise ValueError(f"Every item of '{section}' needs its '{key}'.")
            want[item[key]] = item
        for name, item in want.items():
            if name not in have:
                creates_updates.append(Change("create", kind, name, item))
                continue
            changed = {k: v for k, v in item.items() if k != key and have[name].get(k) != v}
            if changed:
                creates_updates.append(Change("update", kind, name, changed, have[name]))
        if section != "secrets":
            deletes += [Change("delete", kind, name, before=have[name]) for name in have if name not in want]
    return creates_updates + list(reversed(deletes))


def parse_expiry(value: Any):
    if value in (None, ""):
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise ValueError(f"expires_at {value!r} is not an ISO 8601 date and time.")
    return parsed
