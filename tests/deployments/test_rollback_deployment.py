"""A rollback from a route's History (POST /v1/routes/{route}/rollback, or the console's "Roll back to this")
is a deployment like an applied promotion: a watch page (after vs the hour before, the first requests, a
one-click rollback, optional automatic rollback) and its events on the notification channels."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from analytics.models import RequestLog
from core.audit import SYSTEM, Actor
from core.models import AuditEntry
from deployments.errors import NotOpen
from deployments.models import Deployment, DeploymentKind, DeploymentNotice
from deployments.selectors import deployment_watch
from deployments.services import deployment_rollback, deployment_watch_update
from deployments.watch import auto_rollback_due
from environments.models import Environment
from routing.models import Route, RouteRevision
from routing.selectors import effective_for
from routing.services import route_update
from tests.support.metrics import minute_bucket


def _timeout(environment: str) -> int:
    route = Route.objects.get(slug="orders")
    return effective_for(route, Environment.objects.get(name=environment))["timeout_ms"]


def _latest(route) -> int:
    return RouteRevision.objects.filter(route_id=route.pk).order_by("-number").first().number


def _rollback(api, body) -> dict:
    response = api.post("/v1/routes/orders/rollback", body)
    assert response.status_code == 200, response.body
    return response.body["data"]


def test_a_v1_rollback_of_a_route_opens_a_deployment_watching_it_everywhere(people, orders):
    revision = _rollback(people["alice"]["api"], {"to_revision": 1, "reason": "staging broke"})
    deployment = Deployment.objects.get()
    assert (deployment.kind, deployment.promotion, deployment.environment) == (
        DeploymentKind.ROLLBACK,
        None,
        None,
    )
    assert deployment.revisions == {str(orders.pk): revision["number"]}
    assert deployment.rollback_to == {str(orders.pk): revision["number"] - 1}
    assert (deployment.reason, deployment.title) == ("staging broke", "Orders: back to revision 1")
    assert _timeout("staging") == 30000


def test_a_rollback_that_changes_nothing_opens_no_deployment(people, orders):
    _rollback(people["alice"]["api"], {"to_revision": _latest(orders)})
    assert not Deployment.objects.exists()


def test_one_click_on_the_rollbacks_page_undoes_it(people, orders):
    _rollback(people["alice"]["api"], {"to_revision": 1})
    rollback = Deployment.objects.get()
    undo = deployment_rollback(
        actor=Actor.for_user(people["bob"]["user"]), deployment=rollback, reason="the old one was fine"
    )
    assert _timeout("staging") == 5000
    assert (undo.kind, undo.environment, undo.promotion) == (DeploymentKind.ROLLBACK, None, None)
    assert Deployment.objects.get(pk=rollback.pk).rolled_back_by == undo
    assert AuditEntry.objects.filter(resource_type="deployment", action="deployment.rollback").count() == 1


def test_the_console_rollback_of_one_environment_lands_on_its_deployment_page(people, orders, client):
    client.force_login(people["alice"]["user"])
    url = f"/routes/{orders.pk}/history/1/rollback/"
    response = client.post(url, {"scope": "environment", "environment": "staging", "reason": "revert"})
    deployment = Deployment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/deployments/{deployment.pk}/"
    assert deployment.environment.name == "staging"
    assert _timeout("staging") == 30000 and _timeout("production") == 30000

    RequestLog.objects.create(
        request_id="after-the-change",
        timestamp=timezone.now(),
        environment="staging",
        route_id=orders.pk,
        route_slug="orders",
        method="GET",
        path="/first",
        status=200,
        latency_ms=3.0,
    )
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Orders: back to revision 1" in html and "/first" in html and 'id="rollback-form"' in html
    history = client.get(f"/routes/{orders.pk}/history/").content.decode()
    assert f'href="/deployments/{deployment.pk}/"' in history


def _logs(route: Route, environment: str, at, ok: int, failed: int) -> None:
    RequestLog.objects.bulk_create(
        RequestLog(
            request_id=f"{environment}-{at.timestamp()}-{n}",
            timestamp=at,
            environment=environment,
            route_id=route.pk,
            method="GET",
            path="/",
            status=200 if n < ok else 502,
            latency_ms=1.0,
        )
        for n in range(ok + failed)
    )


def test_a_whole_route_rollback_is_watched_in_every_environment_and_rolls_back_by_itself(people, orders):
    _rollback(people["alice"]["api"], {"to_revision": 1})
    deployment = Deployment.objects.get()
    start = deployment.started_at
    minute_bucket("production", orders, start - timedelta(minutes=20), total=60, errors=0)
    minute_bucket("staging", orders, start - timedelta(minutes=20), total=40, errors=2)
    minute_bucket("staging", orders, start + timedelta(minutes=1), total=30, errors=15)
    watch = deployment_watch(deployment, now=start + timedelta(minutes=5))
    assert (watch.before.total, watch.before.errors, watch.after.total, watch.after.errors) == (
        100,
        2,
        30,
        15,
    )

    deployment_watch_update(
        actor=Actor.for_user(people["bob"]["user"]), deployment=deployment, auto_rollback_error_rate=0.2
    )
    _logs(orders, "staging", start + timedelta(minutes=1), ok=10, failed=10)
    assert auto_rollback_due(now=start + timedelta(minutes=5)) == [str(deployment.pk)]
    assert _timeout("staging") == 5000  # the rollback undone: staging's override is back
    undo = Deployment.objects.get(pk=deployment.pk).rolled_back_by
    assert undo.reason.startswith("Automatic rollback")


def test_the_watch_cannot_be_changed_after_it_ended_or_past_one(people, orders):
    _rollback(people["alice"]["api"], {"to_revision": 1})
    deployment = Deployment.objects.get()
    alice = Actor.for_user(people["alice"]["user"])
    with pytest.raises(ValidationError):
        deployment_watch_update(actor=alice, deployment=deployment, auto_rollback_error_rate=1.5)
    Deployment.objects.filter(pk=deployment.pk).update(started_at=timezone.now() - timedelta(hours=1))
    with pytest.raises(NotOpen):
        deployment_watch_update(actor=alice, deployment=deployment, auto_rollback_error_rate=0.1)


def test_rollback_events_reach_the_notification_channels(people, orders, production_slack):
    _rollback(people["alice"]["api"], {"to_revision": 1, "reason": "staging broke", "scope": "route"})
    deployment = Deployment.objects.get()
    [notice] = DeploymentNotice.objects.all()
    assert (notice.deployment, notice.promotion, notice.event, notice.delivered) == (
        deployment,
        None,
        "rolled_back",
        True,
    )
    [delivery] = production_slack.received
    text = str(delivery.json)
    assert "Orders: back to revision 1" in text and "staging broke" in text and "every environment" in text

    deployment_watch_update(actor=SYSTEM, deployment=deployment, auto_rollback_error_rate=0.1)
    _logs(orders, "production", deployment.started_at + timedelta(seconds=1), ok=0, failed=25)
    auto_rollback_due(now=deployment.started_at + timedelta(minutes=2))
    events = list(DeploymentNotice.objects.order_by("sent_at", "id").values_list("event", flat=True))
    assert events == ["rolled_back", "auto_rolled_back"]
    assert "automatically" in str(production_slack.received[-1].json)


def test_an_environment_rollback_notifies_that_environments_channels_only(people, orders, production_slack):
    route_update(actor=SYSTEM, route=orders, timeout_ms=25000)  # production and development now 25000
    alice = people["alice"]["api"]
    _rollback(alice, {"to_revision": 1, "scope": "environment", "environment": "staging"})
    assert _timeout("staging") == 30000 and _timeout("production") == 25000
    assert not production_slack.received  # the only rule watches production
    _rollback(alice, {"to_revision": 2, "scope": "environment", "environment": "production"})
    assert _timeout("production") == 30000
    [delivery] = production_slack.received
    assert "(production)" in str(delivery.json)
    assert [d.environment.name for d in Deployment.objects.order_by("started_at")] == [
        "staging",
        "production",
    ]
