"""Writes to environments. Each one validates, audits and bumps the configuration version atomically."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from knoxcall.lib.client_ip import parse_client_network

from .api_keys import display_prefix_of, generate_api_key, hash_api_key
from .audit import Actor, record_change, snapshot
from .models import ApiKey, Client, Environment
from .permissions import ROLES, require_change

ENVIRONMENT_FIELDS = [
    "name", "display_name", "description", "color", "is_default", "is_protected", "region", "expires_at",
]
# How promotions into the environment work (deployments): who may loosen them is an Administrator's call.
APPROVAL_FIELDS = ["required_approvals", "changes_require_approval", "checklist"]
EDITABLE_FIELDS = (set(ENVIRONMENT_FIELDS) - {"name", "is_default"}) | set(APPROVAL_FIELDS)


def _unset_current_default() -> None:
    Environment.objects.filter(is_default=True).update(is_default=False)


@transaction.atomic
def environment_create(*, actor: Actor, name: str, **fields: Any) -> Environment:
    unknown = set(fields) - (set(ENVIRONMENT_FIELDS) - {"name"}) - set(APPROVAL_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown environment fields: {', '.join(sorted(unknown))}.")
    approval = bool(set(fields) & set(APPROVAL_FIELDS))
    require_change(actor, admin_only=bool(fields.get("is_default") or fields.get("is_protected") or approval))
    if "checklist" in fields:
        fields["checklist"] = clean_checklist(fields["checklist"])
    environment = Environment(name=name, **fields)
    environment.full_clean(validate_constraints=False)
    if environment.is_default:
        _unset_current_default()
    environment.save()
    record_change(
        actor=actor, action="create", resource_type="environment", resource_id=environment.pk,
        resource_name=environment.name, environment=environment.name,
        after=snapshot(environment, ENVIRONMENT_FIELDS),
    )
    return environment


@transaction.atomic
def environment_update(*, actor: Actor, environment: Environment, **fields: Any) -> Environment:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        names = ", ".join(sorted(unknown))
        raise ValidationError(f"These environment fields cannot be changed here: {names}.")
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    require_change(actor, protected=[environment.name] if environment.is_protected else [],
                   admin_only="is_protected" in fields or bool(set(fields) & set(APPROVAL_FIELDS)))
    if "checklist" in fields:
        fields["checklist"] = clean_checklist(fields["checklist"])
    before = snapshot(environment, ENVIRONMENT_FIELDS + APPROVAL_FIELDS)
    for name, value in fields.items():
        setattr(environment, name, value)
    environment.full_clean()
    environment.save()
    record_change(
        actor=actor, action="update", resource_type="environment", resource_id=environment.pk,
        resource_name=environment.name, environment=environment.name,
        before=before, after=snapshot(environment, ENVIRONMENT_FIELDS + APPROVAL_FIELDS),
    )
    return environment


def clean_checklist(items: Any) -> list[dict]:
    """A checklist is a list of {"key", "label"} items (plus "evidence" for the ones checked from data,
    one of deployments' evidence names); keys are unique."""
    evidence = {"source_healthy", "monitoring_ready", "rollback_ready", "team_notified"}
    if not isinstance(items, list):
        raise ValidationError({"checklist": "A list of items."})
    cleaned, keys = [], set()
    for item in items:
        if not isinstance(item, dict) or not str(item.get("key", "")).strip() or not item.get("label"):
            raise ValidationError({"checklist": "Each item needs a key and a label."})
        key = str(item["key"]).strip()[:64]
        if key in keys or (item.get("evidence") and item["evidence"] not in evidence):
            raise ValidationError({"checklist": f"Item '{key}': a repeated key or unknown evidence."})
        keys.add(key)
        cleaned.append({"key": key, "label": str(item["label"])[:200],
                        **({"evidence": item["evidence"]} if item.get("evidence") else {})})
    return cleaned


@transaction.atomic
def environment_make_default(*, actor: Actor, environment: Environment) -> Environment:
    require_change(actor, admin_only=True)
    previous = Environment.objects.filter(is_default=True).first()
    _unset_current_default()
    Environment.objects.filter(pk=environment.pk).update(is_default=True)
    environment.refresh_from_db()
    record_change(
        actor=actor, action="make_default", resource_type="environment", resource_id=environment.pk,
        resource_name=environment.name, environment=environment.name,
        before={"default": previous.name if previous else None}, after={"default": environment.name},
    )
    return environment


@transaction.atomic
def environment_delete(*, actor: Actor, environment: Environment) -> None:
    """Delete an environment and, with it, its route overrides and client assignments."""
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    require_change(actor, protected=[environment.name] if environment.is_protected else [])
    if environment.is_default:
        raise ValidationError(
            "The default environment cannot be deleted; make another one the default first."
        )
    before = snapshot(environment, ENVIRONMENT_FIELDS)
    environment_id = environment.pk
    environment.delete()
    record_change(
        actor=actor, action="delete", resource_type="environment", resource_id=environment_id,
        resource_name=before["name"], environment=before["name"], before=before,
    )


# --- API keys -------------------------------------------------------------------------------------------
# The hash never goes into the audit trail: it identifies the key, and the display prefix is enough.
API_KEY_FIELDS = [
    "name", "display_prefix", "role", "may_invoke", "active", "rate_limit_requests", "rate_limit_window_sec",
]


def _check_api_key_limits(requests: int | None, window_sec: int | None) -> None:
    if (requests is None) != (window_sec is None):
        raise ValidationError("Give both the key's rate limit requests and window, or neither.")
    if requests is not None and (requests < 1 or not 1 <= window_sec <= 86_400):
        raise ValidationError("A key's rate limit needs at least 1 request and a window of 1 s to 1 day.")


@transaction.atomic
def api_key_create(
    *, actor: Actor, name: str, role: str, may_invoke: bool = True, live: bool = True,
    rate_limit_requests: int | None = None, rate_limit_window_sec: int | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw key, which exists nowhere else afterwards: show it once."""
    require_change(actor, admin_only=True)
    if role not in ROLES:
        raise ValidationError(f"Unknown role '{role}'; use one of {', '.join(ROLES)}.")
    if not name.strip():
        raise ValidationError("Give the key a name.")
    _check_api_key_limits(rate_limit_requests, rate_limit_window_sec)
    raw_key = generate_api_key(live=live)
    api_key = ApiKey.objects.create(
        name=name.strip(), role=role, may_invoke=may_invoke, display_prefix=display_prefix_of(raw_key),
        key_hash=hash_api_key(raw_key), rate_limit_requests=rate_limit_requests,
        rate_limit_window_sec=rate_limit_window_sec, created_by=actor.user,
    )
    record_change(
        actor=actor, action="create", resource_type="api_key", resource_id=api_key.pk,
        resource_name=api_key.name, after=snapshot(api_key, API_KEY_FIELDS),
    )
    return api_key, raw_key


@transaction.atomic
def api_key_revoke(*, actor: Actor, api_key: ApiKey) -> ApiKey:
    """Deactivate a key for good; the proxy refuses it once its processes see the new configuration."""
    require_change(actor, admin_only=True)
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if not api_key.active:
        return api_key
    before = snapshot(api_key, API_KEY_FIELDS)
    api_key.active = False
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["active", "revoked_at"])
    record_change(
        actor=actor, action="revoke", resource_type="api_key", resource_id=api_key.pk,
        resource_name=api_key.name, before=before, after=snapshot(api_key, API_KEY_FIELDS),
    )
    return api_key


def api_keys_touch(used: dict[str, object]) -> int:
    """Set last_used_at for many keys at once (key id -> time); the proxy's batched usage flush calls it.

    Not audited and no configuration version bump: usage is not configuration.
    """
    updated = 0
    for key_id, when in used.items():
        updated += ApiKey.objects.filter(pk=key_id).update(last_used_at=when)
    return updated


# --- Clients --------------------------------------------------------------------------------------------
CLIENT_FIELDS = ["name", "type", "ip_address", "description", "enabled"]
CLIENT_EDITABLE = set(CLIENT_FIELDS)


def clean_client_ip(value: str) -> str:
    """Normalise an IP or CIDR to the network it stands for (IPv4-mapped IPv6 becomes IPv4)."""
    try:
        network = parse_client_network(str(value))
    except ValueError as exc:
        raise ValidationError({"ip_address": str(exc)}) from exc
    single = network.prefixlen == network.max_prefixlen
    return str(network.network_address) if single else str(network)


def protected_environments_of_client(client: Client) -> list[str]:
    """Protected environments where the client is assigned: changing the client changes who calls there."""
    names = Environment.objects.filter(client_assignments__client=client, is_protected=True)
    return sorted(set(names.values_list("name", flat=True)))


@transaction.atomic
def client_create(*, actor: Actor, name: str, ip_address: str, **fields: Any) -> Client:
    unknown = set(fields) - CLIENT_EDITABLE
    if unknown:
        raise ValidationError(f"Unknown client fields: {', '.join(sorted(unknown))}.")
    require_change(actor)
    client = Client(name=name.strip(), ip_address=clean_client_ip(ip_address), **fields)
    client.full_clean()
    client.save()
    record_change(
        actor=actor, action="create", resource_type="client", resource_id=client.pk,
        resource_name=client.name,
        after=snapshot(client, CLIENT_FIELDS),
    )
    return client


@transaction.atomic
def client_update(*, actor: Actor, client: Client, **fields: Any) -> Client:
    unknown = set(fields) - CLIENT_EDITABLE
    if unknown:
        raise ValidationError(f"Unknown client fields: {', '.join(sorted(unknown))}.")
    client = Client.objects.select_for_update().get(pk=client.pk)
    require_change(actor, protected=protected_environments_of_client(client))
    before = snapshot(client, CLIENT_FIELDS)
    if "ip_address" in fields:
        fields["ip_address"] = clean_client_ip(fields["ip_address"])
    for name, value in fields.items():
        setattr(client, name, value)
    client.full_clean()
    client.save()
    record_change(
        actor=actor, action="update", resource_type="client", resource_id=client.pk,
        resource_name=client.name,
        before=before, after=snapshot(client, CLIENT_FIELDS),
    )
    return client


@transaction.atomic
def client_delete(*, actor: Actor, client: Client) -> None:
    client = Client.objects.select_for_update().get(pk=client.pk)
    require_change(actor, protected=protected_environments_of_client(client))
    before = snapshot(client, CLIENT_FIELDS)
    client_id = client.pk
    client.delete()
    record_change(
        actor=actor, action="delete", resource_type="client", resource_id=client_id,
        resource_name=before["name"], before=before,
    )
