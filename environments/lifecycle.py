"""Temporary environments over time: extend, warn before expiry, archive once expired.

Archiving deletes what the environment served (route overrides, client assignments, secret values, its
links from alert rules) with the Environment row itself, and keeps its name in ArchivedEnvironment, so
calls naming it keep answering 410 and the name is not reused while its logs are retained. Request logs,
metric buckets and audit entries hold the name as text, and incidents keep `environment_name` (their
foreign key is set to NULL), so all of them stay and stay filterable by the name.

There is no releases model yet; when one arrives, archiving must abort the environment's active releases.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from .audit import SYSTEM, Actor, record_change
from .models import ArchivedEnvironment, Environment
from .permissions import require_change
from .services import environment_snapshot, expiry_from

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


def _delete_served(environment: Environment) -> dict[str, int]:
    """Delete what the environment served, counting each kind for the audit entry.

    A rule watching only this environment is disabled first: with no environment left it would watch
    every environment, which nobody asked for."""
    from alerts.models import AlertRule
    from routing.models import RouteClient, RouteOverride
    from secrets_vault.models import SecretValue

    links = AlertRule.environments.through.objects.filter(environment=environment)
    only_here = (
        AlertRule.objects.filter(environments=environment).annotate(n=Count("environments")).filter(n=1)
    )
    return {
        "alert_rules_disabled": AlertRule.objects.filter(
            pk__in=list(only_here.values_list("pk", flat=True))
        ).update(enabled=False),
        "route_overrides": RouteOverride.objects.filter(environment=environment).delete()[0],
        "client_assignments": RouteClient.objects.filter(environment=environment).delete()[0],
        "secret_values": SecretValue.objects.filter(environment=environment).delete()[0],
        "alert_rule_links": links.delete()[0],
    }


@transaction.atomic
def environment_archive(
    *, environment: Environment, now: datetime | None = None
) -> ArchivedEnvironment | None:
    """Archive one expired environment in one transaction; None when it is gone or no longer expired."""
    now = now or timezone.now()
    environment = Environment.objects.select_for_update().filter(pk=environment.pk).first()
    if environment is None or environment.expires_at is None or environment.expires_at > now:
        return None  # extended meanwhile, or archived by another worker
    before = environment_snapshot(environment)
    deleted = _delete_served(environment)
    archived = ArchivedEnvironment.objects.create(
        name=environment.name, parent_name=before["parent"] or "", expired_at=environment.expires_at
    )
    environment_id = environment.pk
    environment.delete()
    record_change(
        actor=SYSTEM,
        action="expire",
        resource_type="environment",
        resource_id=environment_id,
        resource_name=archived.name,
        environment=archived.name,
        before=before,
        after={"deleted": deleted},
    )
    return archived


def environments_expire(*, now: datetime | None = None) -> list[str]:
    """Archive every temporary environment past its expiry; the names archived."""
    now = now or timezone.now()
    archived = []
    for environment in Environment.objects.filter(expires_at__lte=now):
        try:
            if environment_archive(environment=environment, now=now):
                archived.append(environment.name)
        except Exception:  # one environment that cannot be archived must not hold up the others
            log.exception("could not archive expired environment %s", environment.name)
    return archived


def environments_notify_expiring(*, now: datetime | None = None) -> list[str]:
    """Tell the notification channels about environments expiring within the notice period, once each."""
    from alerts.expiry import notify_environment_expiring

    now = now or timezone.now()
    soon = now + timedelta(minutes=settings.KNOXCALL_EXPIRY_NOTICE_MINUTES)
    due = Environment.objects.filter(
        expires_at__gt=now, expires_at__lte=soon, expiry_notified_at__isnull=True
    )
    notified = []
    for environment in due:
        # Claimed first, so two workers never both send; a failed delivery is recorded per channel.
        if Environment.objects.filter(pk=environment.pk, expiry_notified_at__isnull=True).update(
            expiry_notified_at=now
        ):
            notify_environment_expiring(environment)
            notified.append(environment.name)
    return notified


def archived_names_purge(*, now: datetime | None = None) -> int:
    """Free the names of environments whose logs are past retention (called by the analytics purge)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ANALYTICS_RETENTION_DAYS)
    return ArchivedEnvironment.objects.filter(archived_at__lt=cutoff).delete()[0]
