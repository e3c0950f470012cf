"""Beat's alerts task rolls up first, then evaluates, so calls recorded a moment ago are judged."""

import pytest
from django.conf import settings

from alerts import tasks
from alerts.models import AlertIncident, ChannelKind, RuleType
from alerts.services import alert_rule_create, notification_channel_create
from analytics.models import RequestLog
from analytics.selectors import environment_health
from core.audit import SYSTEM
from routing.services import route_create
from tests.analytics.traffic import wait_for_logs
from tests.support.access import allow_local_callers
from tests.support.gateway_process import free_port as closed_port  # bound then closed: refuses

pytestmark = pytest.mark.usefixtures("eager_tasks")


def test_only_tasks_that_roll_up_first_read_buckets_every_minute():
    # The environments' tasks read no buckets an evaluation depends on; deployments.auto_rollback reads the
    # request log, never the buckets. The alert evaluation and the release judge each roll up before they
    # read, and rollup batches run one at a time (analytics.rollup), so neither reads a half-folded minute.
    minutely = [
        e["task"]
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["schedule"] <= 60 and e["task"] != "deployments.auto_rollback"
    ]
    assert sorted(t for t in minutely if not t.startswith("environments.")) == [
        "alerts.rollup_then_evaluate",
        "deployments.judge_releases",
    ]


def test_it_opens_an_incident_on_gateway_502s_not_yet_rolled_up_with_the_health_cards_error_rate(
    gateway, upstream, slack, environments
):
    channel = notification_channel_create(
        actor=SYSTEM, name="Slack", kind=ChannelKind.SLACK, config={"webhook_url": f"{slack.url}/hook"}
    )
    alert_rule_create(
        actor=SYSTEM, name="Production errors", type=RuleType.ERROR_RATE, threshold=5.0, window_minutes=1,
        min_requests=1, environments=[environments["production"]], channels=[channel],
    )  # fmt: skip
    gone = f"http://127.0.0.1:{closed_port()}"
    allow_local_callers(route_create(actor=SYSTEM, name="Gone", slug="gone", target_base_url=gone))
    allow_local_callers(route_create(actor=SYSTEM, name="Up", slug="up", target_base_url=upstream.url))
    gateway.reload()
    assert {gateway.get("/x", route="gone").status_code for _ in range(4)} == {502}
    assert {gateway.get("/echo", route="up").status_code for _ in range(6)} == {200}
    wait_for_logs(10)
    assert not RequestLog.objects.filter(rolled_up=True).exists()

    assert tasks.rollup_then_evaluate_task.apply().get() == {"opened": 1, "resolved": 0}

    incident = AlertIncident.objects.get()
    production = {h.environment.name: h for h in environment_health()}["production"]
    assert incident.observed_value == 40.0 == 100 * production.metrics.error_rate
    assert production.metrics.gateway_errors == 4
    assert len(slack.received) == 1 and "Production errors" in slack.received[0].json["text"]
