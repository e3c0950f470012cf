"""Who changed what: the actor of a write, and the one function that records it.

`record_change` writes the audit entry and, when the change alters something the proxy serves, bumps the
configuration version and logs what the new version changed (ConfigChange); services call it inside their
transaction, so a change, its audit entry, the new version and its scope commit together or not at all.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Model

from knoxcall.lib.config_signal import publish_config_change
from knoxcall.lib.jsonsafe import json_safe

from .models import AuditEntry, ConfigChange, ConfigVersion
from .permissions import SYSTEM_ROLE, role_of_user


@dataclass(frozen=True)
class Actor:
    label: str
    role: str  # core.permissions: administrator, developer, viewer or system
    user: Any = None  # a django.contrib.auth user, or None for API keys and the system
    api_key_id: str | None = None
    ip: str | None = None

    @classmethod
    def for_user(cls, user: Any, ip: str | None = None) -> "Actor":
        return cls(label=user.get_username(), role=role_of_user(user), user=user, ip=ip)

    @classmethod
    def for_api_key(cls, api_key: Any, ip: str | None = None) -> "Actor":
        """The management API's actor: the key's role, labelled so the audit trail names the key."""
        return cls(
            label=f"api-key:{api_key.name} ({api_key.display_prefix})",
            role=api_key.role,
            api_key_id=str(api_key.pk),
            ip=ip,
        )


SYSTEM = Actor(label="system", role=SYSTEM_ROLE)

# What the proxy's route table is built from. A change to anything else (alert rules, notification channels)
# is audited but does not make every gateway process rebuild its table and decrypt every secret again.
PROXY_SERVED = frozenset({"route", "environment", "client", "api_key", "secret", "release"})
# Fields of those resources that the route table never reads: an entry whose before and after differ only
# in these (a description, a colour, promotion rules) is audited without a new configuration version.
UNSERVED_FIELDS = {
    "route": frozenset({"description"}),
    "environment": frozenset(
        {"display_name", "description", "color"}
        | {"required_approvals", "changes_require_approval", "checklist"}  # promotions read these
    ),
    "secret": frozenset({"description", "secret_type"}),
    "client": frozenset({"name", "type", "description"}),
}
# The scope of a version that may have changed anything: every process rebuilds its whole table.
EVERYTHING = "all"
# Versions whose scope stays in the change log; a process further behind rebuilds its whole table.
CHANGE_LOG_KEPT = 1000


def snapshot(instance: Model, fields: list[str]) -> dict[str, Any]:
    return json_safe({name: getattr(instance, name) for name in fields})


def scope(kind: str, key: Any) -> str:
    """One entry of a version's scope: what kind of thing changed and which one ("route:<id>")."""
    return f"{kind}:{key}"


def bump_config_version(*scopes: str) -> int:
    """Move the configuration version on and log what it changed; with no scope, it may have changed
    anything (a write behind the services' back), and every process rebuilds its whole table."""
    updated = ConfigVersion.objects.filter(pk=1).update(version=F("version") + 1)
    if not updated:
        _, created = ConfigVersion.objects.get_or_create(pk=1, defaults={"version": 1})
        if created:  # a recreated row counts from 1 again: older log rows describe other versions
            ConfigChange.objects.all().delete()
    version = ConfigVersion.objects.values_list("version", flat=True).get(pk=1)
    ConfigChange.objects.create(version=version, scopes=sorted(set(scopes)) or [EVERYTHING])
    if version % 100 == 0:
        ConfigChange.objects.filter(version__lte=version - CHANGE_LOG_KEPT).delete()
    transaction.on_commit(lambda: publish_config_change(version))
    return version


def serves_change(resource_type: str, before: dict | None, after: dict | None) -> bool:
    """Whether an entry of a proxy-served resource changes what the route table holds. A creation or a
    deletion (no before or after) always does; an update does unless only unserved fields differ."""
    if resource_type not in PROXY_SERVED:
        return False
    if before is None or after is None:
        return True
    changed = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    return bool(changed - UNSERVED_FIELDS.get(resource_type, frozenset()))


def record_change(
    *,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: Any,
    resource_name: str = "",
    environment: str = "",
    before: dict | None = None,
    after: dict | None = None,
    scopes: Iterable[str] | None = None,
) -> AuditEntry:
    """Write the audit entry and, when the proxy serves what changed, the new configuration version.

    The version's scope is the resource itself ("route:<id>"), or `scopes` when given (none: no new
    version): a change to something the route table keeps per route (a route's release, say) names the
    route, so that every process rebuilds only that route's entries."""
    entry = AuditEntry.objects.create(
        actor_user=actor.user,
        actor_label=actor.label,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id),
        resource_name=resource_name,
        environment=environment,
        before=before,
        after=after,
        client_ip=actor.ip,
    )
    if scopes is None:
        served = serves_change(resource_type, before, after)
        scopes = [scope(resource_type, resource_id)] if served else []
    if scopes := list(scopes):
        bump_config_version(*scopes)
    return entry
