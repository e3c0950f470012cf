"""Deliver one notification (incident, channel, event, sequence): one attempt per call, each one recorded.

The Celery task calls `deliver` and, when it answers with a delay, retries after it. The idempotency guard
is the attempt history itself: once an attempt for a delivery is recorded as delivered, a redelivered or
repeated task sends nothing. PagerDuty's dedup_key covers the remaining window (a worker lost between the
receiver's 200 and the attempt row being written).
"""

from django.conf import settings

from .models import AlertIncident, NotificationAttempt, NotificationChannel
from .notifiers import SendResult, incident_message, send_notification


def backoff_seconds(attempt: int, retry_after: float | None, *, base: float, cap: float) -> float:
    """Pure: how long to wait after failed attempt number `attempt` (1-based).

    The receiver's Retry-After wins when given, but never beyond the cap, so a hostile or confused receiver
    cannot park a delivery for hours; otherwise exponential backoff from `base`.
    """
    if retry_after is not None:
        return min(max(retry_after, 0.0), cap)
    return min(base * 2 ** max(attempt - 1, 0), cap)


def already_delivered(incident_id: str, channel_id: int, event: str, sequence: int) -> bool:
    return NotificationAttempt.objects.filter(
        incident_id=incident_id, channel_id=channel_id, event=event, sequence=sequence, delivered=True
    ).exists()


def deliver(incident_id: str, channel_id: int, event: str, sequence: int) -> float | None:
    """Make the next attempt of a delivery; return seconds to wait before retrying, or None when done."""
    if already_delivered(incident_id, channel_id, event, sequence):
        return None
    incidents = AlertIncident.objects.select_related("rule", "environment", "route")
    incident = incidents.filter(pk=incident_id).first()
    channel = NotificationChannel.objects.filter(pk=channel_id).first()
    if incident is None or channel is None:
        return None  # deleted (with its rule or channel) after the task was queued: nothing left to say
    previous = NotificationAttempt.objects.filter(
        incident=incident, channel=channel, event=event, sequence=sequence
    ).count()
    attempt = previous + 1
    if channel.enabled:
        result = send_notification(channel, incident_message(incident, event))
    else:
        result = SendResult(delivered=False, error="Channel is disabled.", permanent=True)
    retry = result.retryable and attempt < settings.ALERTS_DELIVERY_MAX_ATTEMPTS
    NotificationAttempt.objects.create(
        incident=incident,
        channel=channel,
        event=event,
        sequence=sequence,
        attempt=attempt,
        status_code=result.status_code,
        error=result.error,
        delivered=result.delivered,
        final=not retry,
    )
    if not retry:
        return None
    return backoff_seconds(
        attempt,
        result.retry_after,
        base=settings.ALERTS_DELIVERY_BACKOFF_BASE_SECONDS,
        cap=settings.ALERTS_DELIVERY_BACKOFF_CAP_SECONDS,
    )
