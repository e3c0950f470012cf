"""Celery tasks of the deployments app: thin wrappers that take ids and call one plain function."""

from celery import shared_task

from .notify import send_deployment_event, send_promotion_event
from .releases.checks import judge_running_releases
from .releases.notify import send_release_event
from .watch import auto_rollback_due


@shared_task(name="deployments.send_event", acks_late=True, ignore_result=True)
def send_promotion_event_task(promotion_id: str, event: str) -> int:
    return send_promotion_event(promotion_id, event)


@shared_task(name="deployments.send_deployment_event", acks_late=True, ignore_result=True)
def send_deployment_event_task(deployment_id: str, event: str) -> int:
    return send_deployment_event(deployment_id, event)


@shared_task(name="deployments.auto_rollback", acks_late=True, ignore_result=True)
def auto_rollback_task() -> list[str]:
    # Beat's minutely check of the deployments being watched with automatic rollback on.
    return auto_rollback_due()


@shared_task(name="deployments.judge_releases", acks_late=True, ignore_result=True)
def judge_releases_task() -> list[dict]:
    # Beat's 15-second look at every running release: rollup, judge, store the check, act on it.
    return judge_running_releases()


@shared_task(name="deployments.send_release_event", acks_late=True, ignore_result=True)
def send_release_event_task(check_id: int) -> int:
    return send_release_event(check_id)
