"""Reads of the environments app: API keys, clients, and what an environment takes with it."""

import uuid

from django.db.models import QuerySet

from .api_keys import hash_api_key, looks_like_api_key
from .models import ApiKey, AuditEntry, Client, Environment


def secret_parents(environments: list[Environment]) -> dict[str, tuple[str, ...]]:
    """Pure: per environment, the parents whose secret values fill its gaps, nearest first. A protected
    environment's values never flow into another environment, so the walk stops at the first one."""
    by_id = {env.pk: env for env in environments}
    chains: dict[str, tuple[str, ...]] = {}
    for env in environments:
        chain: list[str] = []
        parent = by_id.get(env.parent_id)
        while parent is not None and not parent.is_protected and parent.name not in chain:
            chain.append(parent.name)
            parent = by_id.get(parent.parent_id)
        chains[env.name] = tuple(chain) if not env.is_protected else ()
    return chains


def api_key_authenticate(raw_key: str | None) -> ApiKey | None:
    """The active key matching `raw_key`, or None. Looked up by its hash, so no secret is compared."""
    if not raw_key or not looks_like_api_key(raw_key):
        return None
    return ApiKey.objects.filter(key_hash=hash_api_key(raw_key), active=True).first()


def api_key_list(*, include_revoked: bool = True) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.select_related("created_by")
    return keys if include_revoked else keys.filter(active=True)


def client_list() -> QuerySet[Client]:
    return Client.objects.all()


def environment_dependents(environment: Environment) -> dict[str, list[str]]:
    """What goes with an environment when it is deleted: overrides, assignments, secret values, rule links."""
    from alerts.models import AlertRule
    from routing.models import RouteClient, RouteOverride
    from secrets_vault.models import SecretValue

    overrides = RouteOverride.objects.filter(environment=environment).select_related("route")
    assignments = RouteClient.objects.filter(environment=environment).select_related("route", "client")
    values = SecretValue.objects.filter(environment=environment).select_related("secret")
    return {
        "Route overrides": [str(o.route) for o in overrides],
        "Client assignments": [f"{a.client} on {a.route}" for a in assignments],
        "Secret values": [f"{v.secret.name} (version {v.value_version})" for v in values],
        "Alert rule links": [rule.name for rule in AlertRule.objects.filter(environments=environment)],
    }


def environment_history(environment: Environment) -> dict[str, int]:
    """What stays when an environment is deleted, counted: it remains readable and filterable by name."""
    from alerts.models import AlertIncident
    from analytics.models import MetricBucket, RequestLog

    name = environment.name
    return {
        "Request logs": RequestLog.objects.filter(environment=name).count(),
        "Metric buckets": MetricBucket.objects.filter(environment=name).count(),
        "Audit entries": AuditEntry.objects.filter(environment=name).count(),
        "Alert incidents": AlertIncident.objects.filter(environment_name=name).count(),
    }


def deleted_environment_names() -> list[str]:
    """Names of deleted and expired environments (from the audit trail), so their history stays filterable."""
    deleted = AuditEntry.objects.filter(resource_type="environment", action__in=["delete", "expire"])
    names = set(deleted.values_list("resource_name", flat=True))
    return sorted(names - set(Environment.objects.values_list("name", flat=True)))


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def environment_find(ident: str) -> Environment | None:
    """An environment by its id or its name (the management API takes either)."""
    if ident.isdigit() and len(ident) < 19:  # larger numbers are no id (and overflow SQLite's integers)
        return Environment.objects.filter(pk=int(ident)).first()
    return Environment.objects.filter(name=ident).first()


def client_find(ident: str) -> Client | None:
    """A client by its UUID or its name."""
    key = _as_uuid(ident)
    return Client.objects.filter(pk=key).first() if key else Client.objects.filter(name=ident).first()
