"""Writes to the vault: validate, encrypt, save, audit (without values) and bump the configuration version.

Audit entries describe a value only by has_value, value_version and key_id; the plaintext exists in this
module just long enough to be encrypted.
"""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from core.audit import Actor, record_change, snapshot
from core.permissions import require_change
from core.updates import apply_fields, refuse_unknown_fields
from environments.models import Environment

from . import cipher, usage
from .models import Secret, SecretType, SecretValue

SECRET_FIELDS = ["name", "description", "secret_type", "expires_at", "strict_expiry"]
FORBIDDEN_IN_VALUES = ("\r", "\n", "\0")


def _value_audit(row: SecretValue | None) -> dict[str, Any]:
    if row is None:
        return {"has_value": False}
    return {"has_value": True, "value_version": row.value_version, "key_id": row.key_id}


def _audit(
    actor: Actor,
    action: str,
    secret: Secret,
    before: dict,
    after: dict,
    environment: Environment | None = None,
) -> None:
    record_change(
        actor=actor,
        action=action,
        resource_type="secret",
        resource_id=secret.pk,
        resource_name=secret.name,
        environment=environment.name if environment else "",
        before=before,
        after=after,
    )


def _protected_with_values(secret: Secret) -> list[str]:
    return list(
        secret.values.filter(environment__is_protected=True).values_list("environment__name", flat=True)
    )


def _protected_reached(secret: Secret) -> list[str]:
    """Protected environments a change to the secret itself reaches: where it has a value, and where a route
    live there injects it (a rename breaks `{{secret:NAME}}` there)."""
    return sorted(set(_protected_with_values(secret)) | set(usage.protected_environments_using(secret)))


@transaction.atomic
def secret_create(
    *,
    actor: Actor,
    name: str,
    description: str = "",
    secret_type: str = SecretType.STRING,
    expires_at: datetime | None = None,
    strict_expiry: bool = False,
) -> Secret:
    require_change(actor)
    secret = Secret(
        name=name.strip(),
        description=description,
        secret_type=secret_type,
        expires_at=expires_at,
        strict_expiry=strict_expiry,
    )
    secret.full_clean()
    secret.save()
    record_change(
        actor=actor,
        action="create",
        resource_type="secret",
        resource_id=secret.pk,
        resource_name=secret.name,
        after=snapshot(secret, SECRET_FIELDS),
    )
    return secret


@transaction.atomic
def secret_update(*, actor: Actor, secret: Secret, **fields: Any) -> Secret:
    """Change the description, the type or the expiry rules; renaming is secret_rename."""
    refuse_unknown_fields(fields, {"description", "secret_type", "expires_at", "strict_expiry"}, "secret")
    secret = Secret.objects.select_for_update().get(pk=secret.pk)
    require_change(actor, protected=_protected_with_values(secret))
    before = snapshot(secret, SECRET_FIELDS)
    apply_fields(secret, fields)
    _audit(actor, "update", secret, before, snapshot(secret, SECRET_FIELDS))
    return secret


@sensitive_variables("value")
def _clean_value(value: str) -> str:
    if not isinstance(value, str) or value == "":
        raise ValidationError({"value": "Give a non-empty value."})
    if any(char in value for char in FORBIDDEN_IN_VALUES):
        raise ValidationError({"value": "A secret value cannot contain CR, LF or NUL characters."})
    return value


@sensitive_variables("value")
@transaction.atomic
def secret_set_value(*, actor: Actor, secret: Secret, environment: Environment, value: str) -> SecretValue:
    """Set or replace the secret's value in one environment; the version goes up by one every time."""
    require_change(actor, protected=[environment.name] if environment.is_protected else [])
    value = _clean_value(value)
    row = SecretValue.objects.select_for_update().filter(secret=secret, environment=environment).first()
    before = _value_audit(row)
    row = row or SecretValue(secret=secret, environment=environment, value_version=0)
    row.ciphertext, row.key_id = cipher.encrypt(
        value, secret_id=str(secret.pk), environment_id=environment.pk
    )
    row.value_version += 1
    row.updated_by = actor.label
    row.save()
    _audit(actor, "set_value", secret, before, _value_audit(row), environment)
    return row


@transaction.atomic
def secret_delete_value(*, actor: Actor, secret: Secret, environment: Environment) -> None:
    require_change(actor, protected=[environment.name] if environment.is_protected else [])
    row = SecretValue.objects.select_for_update().filter(secret=secret, environment=environment).first()
    if row is None:
        return
    before = _value_audit(row)
    row.delete()
    _audit(actor, "delete_value", secret, before, _value_audit(None), environment)


@transaction.atomic
def secret_rename(*, actor: Actor, secret: Secret, name: str) -> Secret:
    """Rename; `{{secret_id:…}}` keeps working, `{{secret:OLD}}` is reported broken when a route is saved."""
    secret = Secret.objects.select_for_update().get(pk=secret.pk)
    require_change(actor, protected=_protected_reached(secret))
    before = snapshot(secret, SECRET_FIELDS)
    secret.name = name.strip()
    secret.full_clean()
    secret.save()
    _audit(actor, "rename", secret, before, snapshot(secret, SECRET_FIELDS))
    return secret


@transaction.atomic
def secret_delete(*, actor: Actor, secret: Secret) -> None:
    secret = Secret.objects.select_for_update().get(pk=secret.pk)
    require_change(actor, protected=_protected_reached(secret))
    routes = usage.routes_referencing(secret)
    if routes:
        raise ValidationError(
            f"Secret {secret.name} is used by these routes: {', '.join(routes)}. Remove it there first."
        )
    before = snapshot(secret, SECRET_FIELDS) | {
        "environments_with_value": sorted(secret.values.values_list("environment__name", flat=True))
    }
    secret_id = secret.pk
    secret.delete()
    record_change(
        actor=actor,
        action="delete",
        resource_type="secret",
        resource_id=secret_id,
        resource_name=before["name"],
        before=before,
    )


@sensitive_variables("plaintext")
@transaction.atomic
def secret_rotate_key(*, actor: Actor) -> int:
    """Re-encrypt every value under the newest master key; changes nothing if one will not decrypt."""
    require_change(actor, admin_only=True)
    ring = cipher.keyring()
    rows = list(SecretValue.objects.select_for_update().select_related("secret", "environment"))
    unreadable, changed = [], 0
    for row in rows:
        context = {"secret_id": str(row.secret_id), "environment_id": row.environment_id}
        try:
            plaintext = cipher.decrypt(row.ciphertext, row.key_id, **context)
        except cipher.DecryptionError:
            unreadable.append(f"{row.secret.name} in {row.environment.name}")
            continue
        if row.key_id != ring.current_id:
            row.ciphertext, row.key_id = cipher.encrypt(plaintext, **context)
            row.save(update_fields=["ciphertext", "key_id"])
            changed += 1
    if unreadable:
        raise ValueError(
            "These values cannot be decrypted with the configured keys: "
            + ", ".join(unreadable)
            + ". Set them again or restore their key, then rotate."
        )
    record_change(
        actor=actor,
        action="rotate_key",
        resource_type="secret",
        resource_id="*",
        resource_name="all secrets",
        after={"key_id": ring.current_id, "re_encrypted": changed},
    )
    return changed
