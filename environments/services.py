"""Writes to environments. Each one validates, audits and bumps the configuration version atomically."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import Actor, record_change, snapshot
from core.lookups import as_uuid
from core.permissions import ROLES, require_change
from core.updates import apply_fields, refuse_unknown_fields
from knoxcall.lib.client_ip import parse_client_network

from . import cloning, route_revisions
from .api_keys import display_prefix_of, generate_api_key, hash_api_key
from .models import ApiKey, ArchivedEnvironment, Client, Environment

ENVIRONMENT_FIELDS = [
    "name",
    "display_name",
    "description",
    "color",
    "is_default",
    "is_protected",
    "region",
    "expires_at",
    "region_group",
    "failover_order",
]
# How promotions into the environment work (deployments): who may loosen them is an Administrator's call.
APPROVAL_FIELDS = ["required_approvals", "changes_require_approval", "checklist"]
EDITABLE_FIELDS = (set(ENVIRONMENT_FIELDS) - {"name", "is_default"}) | set(APPROVAL_FIELDS)
MAX_TTL_HOURS = 24 * 366 * 10  # far beyond any feature branch, and well inside datetime's range


def environment_snapshot(environment: Environment) -> dict[str, Any]:
    parent = environment.parent.name if environment.parent_id else None
    return {**snapshot(environment, ENVIRONMENT_FIELDS + APPROVAL_FIELDS), "parent": parent}


def _unset_current_default() -> None:
    Environment.objects.filter(is_default=True).update(is_default=False)


def _check_name_free(name: str) -> None:
    """An expired environment's name stays taken while its logs are kept, so they never mix with a new
    environment's; the analytics purge frees it."""
    if (
        ArchivedEnvironment.objects.filter(name=name).exists()
        or Environment.objects.filter(region_group=name).exists()
    ):
        raise ValidationError(
            {
                "name": [
                    f"The name {name} is reserved (an expired environment or a region group); choose another."
                ]
            }
        )


def _check_region_group(environment: Environment) -> None:
    group = environment.region_group
    if group and Environment.objects.filter(name=group).exclude(pk=environment.pk).exists():
        raise ValidationError({"region_group": [f"{group} is an environment's name; a group needs its own."]})


def _check_temporary(environment: Environment) -> None:
    """A cap on temporary environments: each one adds a resolved entry per route to every table rebuild."""
    if environment.expires_at is None:
        return
    others = Environment.objects.filter(expires_at__isnull=False).exclude(pk=environment.pk).count()
    if others >= settings.KNOXCALL_MAX_TEMPORARY_ENVIRONMENTS:
        raise ValidationError(
            f"There are already {others} temporary environments, the most allowed "
            "(KNOXCALL_MAX_TEMPORARY_ENVIRONMENTS); delete one or wait for one to expire."
        )


def expiry_from(*, ttl_hours: float | None = None, expires_at: datetime | None = None) -> datetime | None:
    if ttl_hours is not None and expires_at is not None:
        raise ValidationError("Give ttl_hours or expires_at, not both.")
    if ttl_hours is not None:
        if not 0 < ttl_hours <= MAX_TTL_HOURS:
            raise ValidationError({"ttl_hours": [f"Give a number of hours from 0 to {MAX_TTL_HOURS}."]})
        return timezone.now() + timedelta(hours=ttl_hours)
    return expires_at


@transaction.atomic
def environment_create(
    *,
    actor: Actor,
    name: str,
    clone_from: Environment | None = None,
    ttl_hours: float | None = None,
    **fields: Any,
) -> Environment:
    """Create an environment; `clone_from` makes it a child that copies the parent's overrides and client
    assignments (and inherits its secret values), `ttl_hours` or `expires_at` makes it temporary."""
    unknown = set(fields) - (set(ENVIRONMENT_FIELDS) - {"name"}) - set(APPROVAL_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown environment fields: {', '.join(sorted(unknown))}.")
    approval = bool(set(fields) & set(APPROVAL_FIELDS))
    require_change(actor, admin_only=bool(fields.get("is_default") or fields.get("is_protected") or approval))
    if "checklist" in fields:
        fields["checklist"] = clean_checklist(fields["checklist"])
    fields["expires_at"] = expiry_from(ttl_hours=ttl_hours, expires_at=fields.get("expires_at"))
    if clone_from is not None and clone_from.is_protected:
        raise ValidationError(
            {
                "clone_from": [
                    f"{clone_from.name} is protected: its configuration and secrets are not copied into "
                    "other environments."
                ]
            }
        )
    environment = Environment(name=name, parent=clone_from, **fields)
    environment.full_clean(validate_constraints=False)
    _check_name_free(name)
    _check_region_group(environment)
    _check_temporary(environment)
    if environment.is_default:
        _unset_current_default()
    environment.save()
    record_change(
        actor=actor,
        action="create",
        resource_type="environment",
        resource_id=environment.pk,
        resource_name=environment.name,
        environment=environment.name,
        after=environment_snapshot(environment),
    )
    if clone_from is not None:
        cloning.copy_configuration(actor, clone_from, environment)
    return environment


@transaction.atomic
def environment_update(*, actor: Actor, environment: Environment, **fields: Any) -> Environment:
    refuse_unknown_fields(fields, EDITABLE_FIELDS, "environment")
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    require_change(
        actor,
        protected=[environment.name] if environment.is_protected else [],
        admin_only="is_protected" in fields or bool(set(fields) & set(APPROVAL_FIELDS)),
    )
    if "checklist" in fields:
        fields["checklist"] = clean_checklist(fields["checklist"])
    before = environment_snapshot(environment)
    if "expires_at" in fields:  # a new expiry gets its own warning
        fields["expiry_notified_at"] = None

    def validate(changed: Environment) -> None:
        changed.full_clean()
        _check_region_group(changed)
        if "expires_at" in fields:
            _check_temporary(changed)

    apply_fields(environment, fields, validate=validate)
    record_change(
        actor=actor,
        action="update",
        resource_type="environment",
        resource_id=environment.pk,
        resource_name=environment.name,
        environment=environment.name,
        before=before,
        after=environment_snapshot(environment),
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
        cleaned.append(
            {
                "key": key,
                "label": str(item["label"])[:200],
                **({"evidence": item["evidence"]} if item.get("evidence") else {}),
            }
        )
    return cleaned


@transaction.atomic
def environment_make_default(*, actor: Actor, environment: Environment) -> Environment:
    require_change(actor, admin_only=True)
    if environment.expires_at is not None:
        raise ValidationError("A temporary environment cannot be the default; it will expire.")
    previous = Environment.objects.filter(is_default=True).first()
    _unset_current_default()
    Environment.objects.filter(pk=environment.pk).update(is_default=True)
    environment.refresh_from_db()
    record_change(
        actor=actor,
        action="make_default",
        resource_type="environment",
        resource_id=environment.pk,
        resource_name=environment.name,
        environment=environment.name,
        before={"default": previous.name if previous else None},
        after={"default": environment.name},
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
    before = environment_snapshot(environment)
    environment_id = environment.pk
    with route_revisions.routes_naming(actor=actor, action="environment_delete", environment=environment):
        environment.delete()
    record_change(
        actor=actor,
        action="delete",
        resource_type="environment",
        resource_id=environment_id,
        resource_name=before["name"],
        environment=before["name"],
        before=before,
    )


# --- API keys -------------------------------------------------------------------------------------------
# The hash never goes into the audit trail: it identifies the key, and the display prefix is enough.
API_KEY_FIELDS = [
    "name",
    "display_prefix",
    "role",
    "may_invoke",
    "active",
    "rate_limit_requests",
    "rate_limit_window_sec",
    "expires_at",
]


def _check_api_key_limits(requests: int | None, window_sec: int | None) -> None:
    if (requests is None) != (window_sec is None):
        raise ValidationError("Give both the key's rate limit requests and window, or neither.")
    if requests is not None and (requests < 1 or not 1 <= window_sec <= 86_400):
        raise ValidationError("A key's rate limit needs at least 1 request and a window of 1 s to 1 day.")


@transaction.atomic
def api_key_create(
    *,
    actor: Actor,
    name: str,
    role: str,
    may_invoke: bool = True,
    live: bool = True,
    rate_limit_requests: int | None = None,
    rate_limit_window_sec: int | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw key, which exists nowhere else afterwards: show it once.

    A key with `expires_at` stops authenticating (management API and proxy) at that moment by itself.
    """
    require_change(actor, admin_only=True)
    if role not in ROLES:
        raise ValidationError(f"Unknown role '{role}'; use one of {', '.join(ROLES)}.")
    if not name.strip():
        raise ValidationError("Give the key a name.")
    _check_api_key_limits(rate_limit_requests, rate_limit_window_sec)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "Give a moment in the future (or none: the key never expires)."})
    raw_key = generate_api_key(live=live)
    api_key = ApiKey.objects.create(
        name=name.strip(),
        role=role,
        may_invoke=may_invoke,
        display_prefix=display_prefix_of(raw_key),
        key_hash=hash_api_key(raw_key),
        rate_limit_requests=rate_limit_requests,
        rate_limit_window_sec=rate_limit_window_sec,
        expires_at=expires_at,
        created_by=actor.user,
    )
    record_change(
        actor=actor,
        action="create",
        resource_type="api_key",
        resource_id=api_key.pk,
        resource_name=api_key.name,
        after=snapshot(api_key, API_KEY_FIELDS),
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
        actor=actor,
        action="revoke",
        resource_type="api_key",
        resource_id=api_key.pk,
        resource_name=api_key.name,
        before=before,
        after=snapshot(api_key, API_KEY_FIELDS),
    )
    return api_key


def api_keys_touch(used: dict[str, object]) -> int:
    """Set last_used_at for many keys at once (key id -> time); the proxy's batched usage flush calls it.

    Not audited and no configuration version bump: usage is not configuration. An id that is no key's (not
    a UUID) is skipped: one odd entry must not keep every other key's time from being written, forever.
    A time never moves backwards: each gateway process flushes its own batch, so a worker's older use may
    arrive after another worker's newer one.
    """
    updated = 0
    for key_id, when in used.items():
        if as_uuid(str(key_id)) is not None:
            older = Q(last_used_at__isnull=True) | Q(last_used_at__lt=when)
            updated += ApiKey.objects.filter(older, pk=key_id).update(last_used_at=when)
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
    refuse_unknown_fields(fields, CLIENT_EDITABLE, "client")
    require_change(actor)
    client = Client(name=name.strip(), ip_address=clean_client_ip(ip_address), **fields)
    client.full_clean()
    client.save()
    record_change(
        actor=actor,
        action="create",
        resource_type="client",
        resource_id=client.pk,
        resource_name=client.name,
        after=snapshot(client, CLIENT_FIELDS),
    )
    return client


@transaction.atomic
def client_update(*, actor: Actor, client: Client, **fields: Any) -> Client:
    refuse_unknown_fields(fields, CLIENT_EDITABLE, "client")
    client = Client.objects.select_for_update().get(pk=client.pk)
    require_change(actor, protected=protected_environments_of_client(client))
    before = snapshot(client, CLIENT_FIELDS)
    if "ip_address" in fields:
        fields["ip_address"] = clean_client_ip(fields["ip_address"])
    with route_revisions.routes_naming(actor=actor, action="client_update", client=client):
        apply_fields(client, fields)  # a new name changes the documents of the routes it is assigned to
    record_change(
        actor=actor,
        action="update",
        resource_type="client",
        resource_id=client.pk,
        resource_name=client.name,
        before=before,
        after=snapshot(client, CLIENT_FIELDS),
    )
    return client


@transaction.atomic
def client_delete(*, actor: Actor, client: Client) -> None:
    client = Client.objects.select_for_update().get(pk=client.pk)
    require_change(actor, protected=protected_environments_of_client(client))
    before = snapshot(client, CLIENT_FIELDS)
    client_id = client.pk
    with route_revisions.routes_naming(actor=actor, action="client_delete", client=client):
        client.delete()
    record_change(
        actor=actor,
        action="delete",
        resource_type="client",
        resource_id=client_id,
        resource_name=before["name"],
        before=before,
    )
