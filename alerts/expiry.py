"""Notices that a temporary environment is about to expire, sent to every enabled notification channel.

One attempt per channel, recorded like a test notification (no incident), so a failed delivery shows in
the channel's attempt history. The caller (environments.lifecycle) makes sure each expiry is sent once.
"""

from environments.models import Environment

from .models import NotificationAttempt, NotificationChannel, NotificationEvent
from .notifiers import Message, send_notification


def expiry_message(environment: Environment) -> Message:
    expires = environment.expires_at.isoformat()
    parent = environment.parent.name if environment.parent_id else None
    return Message(
        NotificationEvent.EXPIRY.value,
        f"[EXPIRING] Environment {environment.name} expires at {expires}",
        f"Temporary environment {environment.name} will be archived at {expires}: its overrides, client "
        "assignments and secret values will be deleted and calls to it will answer 410. Extend it with "
        f"POST /v1/environments/{environment.name}/extend to keep it.",
        "warning",
        f"knoxcall-environment-expiry-{environment.pk}-{int(environment.expires_at.timestamp())}",
        {"environment": environment.name, "expires_at": expires, "parent": parent},
    )


def notify_environment_expiring(environment: Environment) -> list[NotificationAttempt]:
    message = expiry_message(environment)
    attempts = []
    for channel in NotificationChannel.objects.filter(enabled=True):
        result = send_notification(channel, message)
        attempts.append(
            NotificationAttempt.objects.create(
                channel=channel,
                event=NotificationEvent.EXPIRY,
                attempt=1,
                status_code=result.status_code,
                error=result.error,
                delivered=result.delivered,
                final=True,
            )
        )
    return attempts
