from datetime import UTC, datetime, timedelta

from django.conf import settings

from alerts import tasks as alerts_tasks
from analytics import tasks
from analytics import tasks as analytics_tasks
from analytics.models import RequestLog
from configuration import tasks as configuration_tasks
from deployments import tasks as deployments_tasks
from knoxcall.celery import app
from tests.analytics.concurrency import make_logs


def test_it_schedules_rollup_then_alerts_every_minute_as_one_task_and_purge_with_registered_tasks():
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    # The rollup is not scheduled on its own: the alerts' task rolls up, then evaluates on those buckets.
    assert schedule == {
        "alerts.rollup_then_evaluate": 60.0,
        "analytics.purge": 3600.0,
        "environments.expire": 60.0,
        "environments.region_health": 15.0,
        "deployments.auto_rollback": 60.0,
        "deployments.judge_releases": 15.0,
    }
    assert alerts_tasks.rollup_then_evaluate_task.name in app.tasks  # the worker autodiscovers it likewise
    assert {"alerts.rollup_then_evaluate", "analytics.rollup", "analytics.purge"} <= set(app.tasks)
    assert {configuration_tasks.expire.name, analytics_tasks.region_health.name} <= set(app.tasks)
    assert {deployments_tasks.auto_rollback_task.name, deployments_tasks.judge_releases_task.name} <= set(
        app.tasks
    )


def test_it_runs_rollup_and_purge_as_tasks(transactional_db):
    old = datetime.now(UTC) - timedelta(days=settings.ANALYTICS_RETENTION_DAYS + 1)
    RequestLog.objects.bulk_create(make_logs(6, start=old))
    assert tasks.rollup.apply().get() == 6
    assert tasks.purge.apply().get() == 6
    assert not RequestLog.objects.exists()
