"""A route rolled back from its History (console or /v1) becomes a watched deployment like an applied
promotion: its page, its optional automatic rollback and its events on the notification channels.

Routing runs the rollback and cannot import this app (it sits below), so this watcher installs itself in
routing.rollback at start-up (DeploymentsConfig.ready); routing calls it inside the rollback's transaction.
"""

from uuid import UUID

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from environments.models import Environment
from routing.rollback import RollbackDone, RollbackWatch

from . import notify
from .models import Deployment, DeploymentKind
from .selectors import deployments_by_revision


def rollback_title(route_name: str, to_revision: int) -> str:
    return f"{route_name}: back to revision {to_revision}"[:200]


class DeploymentWatch(RollbackWatch):
    def rollback_done(self, done: RollbackDone) -> str:
        route_id = str(done.route_id)
        deployment = Deployment.objects.create(
            kind=DeploymentKind.ROLLBACK,
            title=rollback_title(done.route_name, done.to_revision),
            environment=Environment.objects.filter(name=done.environment).first()
            if done.environment
            else None,
            route_ids=[route_id],
            revisions={route_id: done.revision.number},
            rollback_to={route_id: done.previous},
            reason=done.reason,
            started_at=timezone.now(),
            actor_label=done.actor.label,
        )
        transaction.on_commit(lambda: notify.queue_deployment(deployment.pk, "rolled_back"))
        return str(deployment.pk)

    def watch_pages(self, route_id: UUID) -> dict[int, str]:
        return {
            number: reverse("deployments:deployment", args=[deployment.pk])
            for number, deployment in deployments_by_revision(route_id).items()
        }
