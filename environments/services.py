"""Writes to environments. Each one validates, audits and bumps the configuration version atomically."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from .audit import Actor, record_change, snapshot
from .models import Environment
from .permissions import require_change

ENVIRONMENT_FIELDS = [
    "name", "display_name", "description", "color", "is_default", "is_protected", "region", "expires_at",
]
EDITABLE_FIELDS = set(ENVIRONMENT_FIELDS) - {"name", "is_default"}


def _unset_current_default() -> None:
    Environment.objects.filter(is_default=True).update(is_default=False)


@transaction.atomic
def environment_create(*, actor: Actor, name: str, **fields: Any) -> Environment:
    unknown = set(fields) - (set(ENVIRONMENT_FIELDS) - {"name"})
    if unknown:
        raise ValidationError(f"Unknown environment fields: {', '.join(sorted(unknown))}.")
    require_change(actor, admin_only=bool(fields.get("is_default") or fields.get("is_protected")))
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
        raise ValidationError(f"These environment fields cannot be changed here: {', '.join(sorted(unknown))}.")
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    require_change(actor, protected=[environment.name] if environment.is_protected else [],
                   admin_only="is_protected" in fields)
    before = snapshot(environment, ENVIRONMENT_FIELDS)
    for name, value in fields.items():
        setattr(environment, name, value)
    environment.full_clean()
    environment.save()
    record_change(
        actor=actor, action="update", resource_type="environment", resource_id=environment.pk,
        resource_name=environment.name, environment=environment.name,
        before=before, after=snapshot(environment, ENVIRONMENT_FIELDS),
    )
    return environment


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
        raise ValidationError("The default environment cannot be deleted; make another one the default first.")
    before = snapshot(environment, ENVIRONMENT_FIELDS)
    environment_id = environment.pk
    environment.delete()
    record_change(
        actor=actor, action="delete", resource_type="environment", resource_id=environment_id,
        resource_name=before["name"], environment=before["name"], before=before,
    )
