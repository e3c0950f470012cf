"""After a promotion: one revision per route, the deployment's watch, one-click and automatic rollback,
deployment events on the notification channels, and the checklist's evidence."""

from datetime import timedelta

from django.utils import timezone

from alerts.services import alert_rule_create, notification_channel_create
from analytics.models import RequestLog
from core.audit import SYSTEM, Actor
from deployments.models import Deployment, DeploymentKind, DeploymentNotice
from deployments.selectors import checklist_state, deployment_watch
from deployments.services import deployment_rollback, promotion_apply, promotion_create
from deployments.watch import auto_rollback_due
from environments.models import Environment
from routing.models import Route, RouteRevision
from routing.selectors import effective_for
from tests.support.metrics import minute_bucket


def _production_timeout() -> int:
    return effective_for(Route.objects.get(slug="orders"), Environment.objects.get(name="production"))[
        "timeout_ms"
    ]


def _applied(people, error_rate=None) -> Deployment:
    alice = Actor.for_user(people["alice"]["user"])
    promotion = promotion_create(
        actor=alice,
        source=Environment.objects.get(name="staging"),
        target=Environment.objects.get(name="production"),
        title="Faster orders",
        auto_rollback_error_rate=error_rate,
    )
    return promotion_apply(actor=alice, promotion=promotion, break_glass_reason="test of the watch")


def test_apply_records_one_revision_per_route_and_rollback_restores_it(people, orders):
    before = RouteRevision.objects.filter(route_id=orders.pk).count()
    deployment = _applied(people)
    revisions = RouteRevision.objects.filter(route_id=orders.pk).order_by("-number")
    assert revisions.count() == before + 1 and revisions[0].action == "promotion"
    assert _production_timeout() == 5000

    rollback = deployment_rollback(
        actor=Actor.for_user(people["bob"]["user"]), deployment=deployment, reason="errors after the change"
    )
    assert rollback.kind == DeploymentKind.ROLLBACK
    assert _production_timeout() == 30000
    assert Deployment.objects.get(pk=deployment.pk).rolled_back_by == rollback


def test_deployment_events_reach_the_targets_channels(people, orders, production_slack):
    _applied(people)
    events = list(DeploymentNotice.objects.values_list("event", "delivered"))
    assert ("applied_break_glass", True) in events
    assert any("break-glass" in str(d.json) for d in production_slack.received)


def test_the_watch_compares_after_with_the_hour_before_and_rolls_back_past_the_threshold(people, orders):
    deployment = _applied(people, error_rate=0.1)
    start = deployment.started_at
    minute_bucket("production", orders, start - timedelta(minutes=30), total=100, errors=1)
    minute_bucket("production", orders, start + timedelta(minutes=2), total=40, errors=20)
    watch = deployment_watch(deployment, now=start + timedelta(minutes=5))
    assert (watch.before.total, watch.after.total, watch.after.errors) == (100, 40, 20)

    # The automatic rollback counts the request log itself (not yet rolled up into buckets).
    _logs(orders, start + timedelta(minutes=1), ok=19, failed=1)
    assert auto_rollback_due(now=start + timedelta(minutes=5)) == []  # 1 of 20: 5%, under 10%
    _logs(orders, start + timedelta(minutes=2), ok=0, failed=5)
    assert auto_rollback_due(now=start + timedelta(minutes=5)) == [str(deployment.pk)]
    assert _production_timeout() == 30000
    assert auto_rollback_due(now=start + timedelta(minutes=6)) == []  # once


def _logs(route: Route, at, ok: int, failed: int) -> None:
    RequestLog.objects.bulk_create(
        RequestLog(
            request_id=f"{at.timestamp()}-{n}",
            timestamp=at,
            environment="production",
            route_id=route.pk,
            method="GET",
            path="/",
            status=200 if n < ok else 502,
            latency_ms=1.0,
        )
        for n in range(ok + failed)
    )


def test_evidence_items_are_checked_from_data(people, orders, environments):
    environments["production"].checklist = [
        {"key": "tests_passing", "label": "All tests passing in staging", "evidence": "source_healthy"},
        {"key": "monitoring_ready", "label": "Monitoring ready", "evidence": "monitoring_ready"},
        {"key": "rollback_plan", "label": "Rollback plan", "evidence": "rollback_ready"},
        {"key": "team_notified", "label": "Team notified", "evidence": "team_notified"},
    ]
    environments["production"].save()
    alice = Actor.for_user(people["alice"]["user"])
    promotion = promotion_create(
        actor=alice, source=environments["staging"], target=environments["production"], title="Evidence"
    )
    state = {i["key"]: i["done"] for i in checklist_state(promotion)}
    assert state == {
        "tests_passing": False,
        "monitoring_ready": False,
        "rollback_plan": True,
        "team_notified": False,
    }
    minute_bucket("staging", orders, timezone.now() - timedelta(minutes=10), total=50, errors=0)
    channel = notification_channel_create(
        actor=SYSTEM,
        name="Deploys",
        kind="slack",
        config={"webhook_url": "https://hooks.example.com/deploys"},
    )
    alert_rule_create(
        actor=SYSTEM,
        name="Prod errors",
        type="error_rate",
        threshold=5.0,
        environments=[environments["production"]],
        channels=[channel],
    )
    state = checklist_state(promotion)
    assert all(i["done"] for i in state)
    assert "Deploys" in next(i["detail"] for i in state if i["key"] == "team_notified")
