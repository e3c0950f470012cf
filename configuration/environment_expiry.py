"""Expiry of temporary environments: warn the notification channels before, archive once expired.

Archiving deletes what the environment served (route overrides, client assignments, secret values, its
links from alert rules) with the Environment row itself, and keeps its name in ArchivedEnvironment, so
calls naming it keep answering 410 and the name is not reused while its logs are retained. It lives here,
above routing, the vault and alerts, because it writes to all of them in one transaction.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from alerts.expiry import notify_environment_expiring
from alerts.models import AlertRule
from core.audit import SYSTEM, record_change
from environments.models import ArchivedEnvironment, Environment
from environments.services import environment_snapshot
from routing.models import RouteClient, RouteOverride
from routing.revisions import revisions_for_routes_naming
from secrets_vault.models import SecretValue

log = logging.getLogger(__name__)


def _delete_served(environment: Environment) -> dict[str, int]:
    """Delete what the environment served, counting each kind for the audit entry.

    A rule watching only this environment is disabled first: with no environment left it would watch
    every environment, which nobody asked for."""
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
    with revisions_for_routes_naming(actor=SYSTEM, action="environment_expire", environment=environment):
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
