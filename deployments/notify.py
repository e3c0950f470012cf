"""Deployment events to the notification channels: requested, approved, rejected, applied (break-glass
too), rolled back. They go where the target environment's alerts go (deployments.selectors.
deployment_channels), one attempt per channel, each one recorded; queued after the commit that decided it."""

import logging
import uuid

from alerts.notifiers import Message, send_notification

from .models import DeploymentNotice, Promotion
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


def deployment_message(promotion: Promotion, event: str) -> Message:
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


def send_deployment_event(promotion_id: str, event: str) -> int:
    """Send the event to every channel of the target; return how many were delivered."""
    promotion = Promotion.objects.select_related("source", "target").filter(pk=promotion_id).first()
    if promotion is None:
        return 0
    message, delivered = deployment_message(promotion, event), 0
    for channel in deployment_channels(promotion.target):
        result = send_notification(channel, message)
        DeploymentNotice.objects.create(
            promotion=promotion,
            channel=channel,
            event=event,
            delivered=result.delivered,
            status_code=result.status_code,
            error=result.error,
        )
        delivered += result.delivered
    return delivered


def queue(promotion_id: uuid.UUID, event: str) -> None:
    from .tasks import send_deployment_event_task

    try:
        send_deployment_event_task.delay(str(promotion_id), event)
    except Exception:  # a broker outage must not undo the change; the promotion page shows no notice
        logger.exception("Could not queue the %s event of promotion %s", event, promotion_id)
