"""Reads of the environments app: API keys, clients, and what an environment takes with it."""

import uuid

from django.db.models import QuerySet

from knoxcall.lib.colors import distinct_colors

from .api_keys import hash_api_key, looks_like_api_key
from .models import ApiKey, Client, Environment


def api_key_authenticate(raw_key: str | None) -> ApiKey | None:
    """The active key matching `raw_key`, or None. Looked up by its hash, so no secret is compared."""
    if not raw_key or not looks_like_api_key(raw_key):
        return None
    return ApiKey.objects.filter(key_hash=hash_api_key(raw_key), active=True).first()


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


def environment_dependents(environment: Environment) -> dict[str, list[str]]:
    """What goes with an environment when it is deleted: its route overrides and client assignments."""
    from routing.models import RouteClient, RouteOverride

    overrides = RouteOverride.objects.filter(environment=environment).select_related("route")
    assignments = RouteClient.objects.filter(environment=environment).select_related("route", "client")
    return {
        "Route overrides": [str(o.route) for o in overrides],
        "Client assignments": [f"{a.client} on {a.route}" for a in assignments],
    }


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
