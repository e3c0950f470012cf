"""Who changed what: the actor of a write, and the one function that records it.

`record_change` writes the audit entry and, when the change is to something the proxy serves, bumps the
configuration version; services call it inside their transaction, so a change, its audit entry and the new
version commit together or not at all.
"""

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Model

from knoxcall.lib.config_signal import publish_config_change
from knoxcall.lib.jsonsafe import json_safe

from .models import AuditEntry, ConfigVersion
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


def snapshot(instance: Model, fields: list[str]) -> dict[str, Any]:
    return json_safe({name: getattr(instance, name) for name in fields})


def bump_config_version() -> int:
    updated = ConfigVersion.objects.filter(pk=1).update(version=F("version") + 1)
    if not updated:
        ConfigVersion.objects.get_or_create(pk=1, defaults={"version": 1})
    version = ConfigVersion.objects.values_list("version", flat=True).get(pk=1)
    transaction.on_commit(lambda: publish_config_change(version))
    return version


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
) -> AuditEntry:
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
    if resource_type in PROXY_SERVED:
        bump_config_version()
    return entry
