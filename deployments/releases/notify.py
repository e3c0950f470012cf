"""Release events to the notification channels: a candidate rolled back (or a blue-green release switched
back) by the judge, and a release paused because its checks stayed inconclusive. They go where the
environment's alerts go (deployments.selectors.deployment_channels), one attempt per channel, each recorded
as a ReleaseNotice of the check that decided it; queued after the commit of that check."""

import logging

from alerts.notifiers import Message, send_notification
from routing.models import ReleaseCheck, ReleaseStrategy

from ..models import ReleaseNotice
from ..selectors import deployment_channels
from .judge import PAUSE, ROLL_BACK

logger = logging.getLogger(__name__)

EVENTS = frozenset({ROLL_BACK, PAUSE})
WORDS = {
    "release_rolled_back": "rolled back automatically",
    "release_switched_back": "switched back to blue automatically",
    "release_paused": "paused: not enough evidence to go on",
}


def release_event(check: ReleaseCheck) -> str:
    if check.numbers.get("action") == PAUSE:
        return "release_paused"
    blue_green = check.release.strategy == ReleaseStrategy.BLUE_GREEN
    return "release_switched_back" if blue_green else "release_rolled_back"


def release_message(check: ReleaseCheck) -> Message:
    release, event = check.release, release_event(check)
    scope = f"{release.route.name} @ {release.environment.name}"
    return Message(
        event=event,
        title=f"[RELEASE] {scope}: {WORDS[event]} at {release.weight_percent:g}% (step {check.step + 1})",
        text=check.reason,
        severity="warning" if event == "release_paused" else "high",
        dedup_key=f"knoxcall-release-{release.pk}-{event}",
        details={
            "release": str(release.pk),
            "route": release.route.slug,
            "environment": release.environment.name,
            "state": release.state,
            "verdict": check.verdict,
            "numbers": check.numbers,
        },
    )


def send_release_event(check_id: int) -> int:
    """Send the check's event to every channel of the release's environment; return how many delivered."""
    check = (
        ReleaseCheck.objects.select_related("release__route", "release__environment")
        .filter(pk=check_id)
        .first()
    )
    if check is None:
        return 0
    message, delivered = release_message(check), 0
    for channel in deployment_channels(check.release.environment):
        result = send_notification(channel, message)
        ReleaseNotice.objects.create(
            release_check=check,
            channel=channel,
            event=message.event,
            delivered=result.delivered,
            status_code=result.status_code,
            error=result.error,
        )
        delivered += result.delivered
    return delivered


def queue(check_id: int) -> None:
    from ..tasks import send_release_event_task

    try:
        send_release_event_task.delay(check_id)
    except Exception:  # a broker outage must not undo the rollback; the check shows no notice
        logger.exception("Could not queue the notification of release check %s", check_id)
