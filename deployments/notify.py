"""Deployment events to the notification channels: a promotion requested, approved, rejected, applied
(break-glass too); a deployment rolled back (by hand, from a route's History, or automatically). They go where
the target environment's alerts go (deployments.selectors.deployment_channels), one attempt per channel,
each one recorded; queued after the commit that decided it."""

import logging
import uuid

from alerts.notifiers import Message, send_notification

from .models import Deployment, DeploymentNotice, Promotion
from .selectors import deployment_channels

logger = logging.getLogger(__name__)

SEVERITY = {"applied_break_glass": "warning", "rolled_back": "warning", "auto_rolled_back": "high"}
WORDS = {
    "requested": "proposed",
    "approved": "approved",
    "rejected": "rejected",
    "applied": "applied",
    "applied_break_glass": "applied WITHOUT approval (break-glass)",
    "rolled_back": "rolled back",
    "auto_rolled_back": "rolled back automatically (error rate past its threshold)",
}


def promotion_message(promotion: Promotion, event: str) -> Message:
    title = (
        f"[DEPLOYMENT] {promotion.title}: {WORDS.get(event, event)} ({promotion.source} → {promotion.target})"
    )
    text = f"Requested by {promotion.requested_by_label}; {len(promotion.route_ids)} route(s)."
    if promotion.break_glass_reason:
        text += f" Break-glass reason: {promotion.break_glass_reason}"
    return Message(
        event=event,
        title=title,
        text=text,
        severity=SEVERITY.get(event, "info"),
        dedup_key=f"knoxcall-promotion-{promotion.pk}-{event}",
        details={
            "promotion": str(promotion.pk),
            "source": promotion.source.name,
            "target": promotion.target.name,
            "routes": promotion.route_ids,
            "status": promotion.status,
        },
    )


def deployment_message(deployment: Deployment, event: str) -> Message:
    """A rollback: which routes went back to which revision where, by whom and why."""
    text = f"By {deployment.actor_label}; {len(deployment.route_ids)} route(s)."
    if deployment.reason:
        text += f" Reason: {deployment.reason}"
    return Message(
        event=event,
        title=f"[DEPLOYMENT] {deployment.title}: {WORDS.get(event, event)} ({deployment.where})",
        text=text,
        severity=SEVERITY.get(event, "info"),
        dedup_key=f"knoxcall-deployment-{deployment.pk}-{event}",
        details={
            "deployment": str(deployment.pk),
            "promotion": str(deployment.promotion_id) if deployment.promotion_id else None,
            "environment": deployment.environment.name if deployment.environment_id else None,
            "routes": deployment.route_ids,
            "revisions": deployment.revisions,
        },
    )


def _send(environment, message: Message, **about) -> int:
    delivered = 0
    for channel in deployment_channels(environment):
        result = send_notification(channel, message)
        DeploymentNotice.objects.create(
            channel=channel,
            event=message.event,
            delivered=result.delivered,
            status_code=result.status_code,
            error=result.error,
            **about,
        )
        delivered += result.delivered
    return delivered


def send_promotion_event(promotion_id: str, event: str) -> int:
    """Send the event to every channel of the target; return how many were delivered."""
    promotion = Promotion.objects.select_related("source", "target").filter(pk=promotion_id).first()
    if promotion is None:
        return 0
    return _send(promotion.target, promotion_message(promotion, event), promotion=promotion)


def send_deployment_event(deployment_id: str, event: str) -> int:
    """Send the event to every channel of the deployment's environment (every environment's channels for a
    whole route); return how many were delivered."""
    deployment = Deployment.objects.select_related("environment").filter(pk=deployment_id).first()
    if deployment is None:
        return 0
    about = {"deployment": deployment, "promotion_id": deployment.promotion_id}
    return _send(deployment.environment, deployment_message(deployment, event), **about)


def queue(promotion_id: uuid.UUID, event: str) -> None:
    from .tasks import send_promotion_event_task

    _queue(send_promotion_event_task, promotion_id, event)


def queue_deployment(deployment_id: uuid.UUID, event: str) -> None:
    from .tasks import send_deployment_event_task

    _queue(send_deployment_event_task, deployment_id, event)


def _queue(task, pk: uuid.UUID, event: str) -> None:
    try:
        task.delay(str(pk), event)
    except Exception:  # a broker outage must not undo the change; the page then shows no notice
        logger.exception("Could not queue the %s event of %s", event, pk)
