"""Celery tasks of the alerts app: thin wrappers that take ids and call one plain function."""

import logging

from celery import shared_task

from .delivery import deliver
from .evaluation import rollup_then_evaluate

logger = logging.getLogger(__name__)


@shared_task(name="alerts.rollup_then_evaluate", acks_late=True, ignore_result=True)
def rollup_then_evaluate_task() -> dict[str, int]:
    # Beat's minutely task: the rollup and the evaluation that needs its buckets, in that order.
    return dict(rollup_then_evaluate())


@shared_task(name="alerts.deliver", bind=True, acks_late=True, max_retries=None, ignore_result=True)
def deliver_notification(self, incident_id: str, channel_id: int, event: str, sequence: int) -> None:
    # deliver() counts attempts from the database and stops retrying by itself after the configured number.
    retry_in = deliver(incident_id, channel_id, event, sequence)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


def queue_deliveries(incident_id: str, channel_ids: list[int], event: str, sequence: int) -> None:
    """Queue one delivery task per channel; called on commit of the evaluation that decided to notify."""
    for channel_id in channel_ids:
        try:
            deliver_notification.delay(incident_id, channel_id, event, sequence)
        except Exception:  # a broker outage must not undo the decision; the incident page shows no attempt
            logger.exception("Could not queue the %s notification of incident %s", event, incident_id)
