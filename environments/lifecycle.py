"""Temporary environments over time: extend them, and free an archived name once its logs are purged.

Warning before expiry and archiving live in configuration.environment_expiry: they delete routes' overrides,
client assignments, secret values and alert-rule links, all of which sit above this app. An archived
environment's name stays in ArchivedEnvironment, so calls naming it keep answering 410 and the name is not
reused while its logs are retained (request logs, buckets, audit entries and incidents keep the name).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.audit import Actor, record_change
from core.permissions import require_change

from .models import ArchivedEnvironment, Environment
from .services import expiry_from

log = logging.getLogger(__name__)


@transaction.atomic
def environment_extend(
    *,
    actor: Actor,
    environment: Environment,
    ttl_hours: float | None = None,
    expires_at: datetime | None = None,
) -> Environment:
    """Move a temporary environment's expiry: `ttl_hours` from now, or to `expires_at`."""
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    require_change(actor, protected=[environment.name] if environment.is_protected else [])
    if environment.expires_at is None:
        raise ValidationError("This environment is not temporary; it has no expiry to extend.")
    new_expiry = expiry_from(ttl_hours=ttl_hours, expires_at=expires_at)
    if new_expiry is None:
        raise ValidationError("Give ttl_hours or expires_at.")
    before = {"expires_at": environment.expires_at.isoformat()}
    environment.expires_at, environment.expiry_notified_at = new_expiry, None
    environment.save(update_fields=["expires_at", "expiry_notified_at"])
    record_change(
        actor=actor,
        action="extend",
        resource_type="environment",
        resource_id=environment.pk,
        resource_name=environment.name,
        environment=environment.name,
        before=before,
        after={"expires_at": new_expiry.isoformat()},
    )
    return environment


def archived_names_purge(*, now: datetime | None = None) -> int:
    """Free the names of environments whose logs are past retention (called by the analytics purge)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ANALYTICS_RETENTION_DAYS)
    return ArchivedEnvironment.objects.filter(archived_at__lt=cutoff).delete()[0]
