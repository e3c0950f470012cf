"""How routes use secrets: the answers the vault asks for before a secret is renamed or deleted
(installed into secrets_vault.usage by RoutingConfig.ready)."""

from typing import Any

from environments.models import Environment
from secrets_vault.models import Secret
from secrets_vault.rendering import (
    SECRET,
    SECRET_ID,
    TemplateError,
    parse_body,
    parse_headers,
    secret_placeholders,
)

from .effective import effective_config
from .models import OVERRIDABLE_FIELDS, Route


def routes_referencing(secret: Secret) -> list[str]:
    """Names of the routes whose base or override templates mention this secret (by name or by id)."""
    wanted = {(SECRET, secret.name), (SECRET_ID, str(secret.pk))}
    names = []
    for route in Route.objects.prefetch_related("overrides"):
        rows = [route, *route.overrides.all()]
        if any(wanted & _references(row.inject_headers_json, row.inject_body_json) for row in rows):
            names.append(route.name)
    return names


def protected_environments_using(secret: Secret) -> list[str]:
    """Protected environments where a route that is live there injects this secret (by name or by id)."""
    wanted = {(SECRET, secret.name), (SECRET_ID, str(secret.pk))}
    protected = list(Environment.objects.filter(is_protected=True))
    names = set()
    for route in Route.objects.prefetch_related("overrides"):
        base = {name: getattr(route, name) for name in OVERRIDABLE_FIELDS}
        overrides = {o.environment_id: o.overridden_values() for o in route.overrides.all()}
        for environment in protected:
            config = effective_config(base, overrides.get(environment.pk))
            headers, body = config["inject_headers_json"], config["inject_body_json"]
            if config["enabled"] and wanted & _references(headers, body):
                names.add(environment.name)
    return sorted(names)


def _references(headers_json: Any, body_json: Any) -> set[tuple[str, str]]:
    try:
        parsed = (parse_headers(headers_json or {}), parse_body(body_json or {}))
    except TemplateError:
        return set()
    return {(p.kind, p.arg) for p in secret_placeholders(parsed)}
