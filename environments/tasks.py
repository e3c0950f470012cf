"""Celery tasks of the environments app: thin wrappers, scheduled in CELERY_BEAT_SCHEDULE."""

from celery import shared_task

from . import lifecycle, regions


@shared_task(name="environments.expire", acks_late=True, ignore_result=True)
def expire() -> dict[str, list[str] | int]:
    # Warn first: an environment created with less than the notice period left is still warned once.
    notified = lifecycle.environments_notify_expiring()
    archived = lifecycle.environments_expire()
    return {"notified": notified, "archived": archived, "names_freed": lifecycle.archived_names_purge()}


@shared_task(name="environments.region_health", acks_late=True, ignore_result=True)
def region_health() -> dict[str, bool]:
    return regions.region_health_refresh()
