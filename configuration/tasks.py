"""Celery tasks of the configuration app: thin wrappers, scheduled in CELERY_BEAT_SCHEDULE."""

from celery import shared_task

from environments.lifecycle import archived_names_purge

from . import environment_expiry


@shared_task(name="environments.expire", acks_late=True, ignore_result=True)
def expire() -> dict[str, list[str] | int]:
    # Warn first: an environment created with less than the notice period left is still warned once.
    notified = environment_expiry.environments_notify_expiring()
    archived = environment_expiry.environments_expire()
    return {"notified": notified, "archived": archived, "names_freed": archived_names_purge()}
