"""Celery tasks of the analytics app: thin wrappers, scheduled in CELERY_BEAT_SCHEDULE."""

from celery import shared_task

from . import region_health as region_health_module
from . import rollup as rollup_module


@shared_task(name="analytics.rollup", acks_late=True, ignore_result=True)
def rollup() -> int:
    return rollup_module.rollup().rows


@shared_task(name="analytics.purge", acks_late=True, ignore_result=True)
def purge() -> int:
    return rollup_module.purge()


@shared_task(name="environments.region_health", acks_late=True, ignore_result=True)
def region_health() -> dict[str, bool]:
    return region_health_module.region_health_refresh()
