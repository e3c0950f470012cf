"""Reads of the environments app: API keys, clients, and what an environment takes with it."""

import uuid

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.lookups import found_or_404, small_id
from core.models import AuditEntry
from knoxcall.lib.colors import distinct_colors

from .api_keys import hash_api_key, looks_like_api_key
from .models import ApiKey, Client, Environment


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
    """The active, unexpired key matching `raw_key`, or None. Looked up by its hash: no secret is compared."""
    if not raw_key or not looks_like_api_key(raw_key):
        return None
    unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    return ApiKey.objects.filter(unexpired, key_hash=hash_api_key(raw_key), active=True).first()


def api_key_list(*, include_revoked: bool = True) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.select_related("created_by")
    return keys if include_revoked else keys.filter(active=True)


def environment_display_colors() -> dict[str, str]:
    """Every environment's colour on screen, distinct from the others'; see knoxcall.lib.colors.

    Creation order decides who keeps a shared colour, so adding an environment never repaints another.
    """
    return distinct_colors(Environment.objects.order_by("created_at", "pk").values_list("name", "color"))


def client_list() -> QuerySet[Client]:
    return Client.objects.all()


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
    pk = small_id(ident, max_digits=18)  # larger numbers are no id (and overflow SQLite's integers)
    if pk is not None:
        return Environment.objects.filter(pk=pk).first()
    return Environment.objects.filter(name=ident).first()


def client_find(ident: str) -> Client | None:
    """A client by its UUID or its name."""
    key = _as_uuid(ident)
    return Client.objects.filter(pk=key).first() if key else Client.objects.filter(name=ident).first()


def environment_or_404(ident: str) -> Environment:
    """The environment named (or numbered) in a /v1 path or body, or a 404 that says which."""
    return found_or_404(environment_find(ident), f"No environment '{ident}'.")


def client_or_404(ident: str) -> Client:
    return found_or_404(client_find(ident), f"No client '{ident}'.")
