"""GET /v1/deployments and /v1/deployments/{id}: applied promotions and rollbacks, newest first, filtered and
paginated like the other lists, one with its watch figures; and the deployment a route rollback opened.

Only those who may change protected environments see a deployment into one; a whole-route rollback only
those who may change every environment of its routes."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics import histogram
from core.audit import SYSTEM
from deployments.models import Deployment, DeploymentKind
from routing.models import Route
from routing.services import route_create, route_override_update
from tests.support.metrics import latencies, minute_bucket


@pytest.fixture
def orders(environments) -> Route:
    """A route live everywhere, with a staging override on top of its first revision."""
    route = route_create(actor=SYSTEM, name="Orders", target_base_url="https://a.example.com")
    route_override_update(actor=SYSTEM, route=route, environment=environments["staging"], timeout_ms=5000)
    return route


def _deployment(route: Route, environment, *, minutes_ago: float, **fields) -> Deployment:
    """A deployment of one route, `minutes_ago` old (writing revision 2, rolling back to 1)."""
    route_id = str(route.pk)
    return Deployment.objects.create(
        kind=fields.pop("kind", DeploymentKind.PROMOTION),
        title=fields.pop("title", f"{route.name} into {environment}"),
        environment=environment,
        route_ids=[route_id],
        revisions={route_id: 2},
        rollback_to={route_id: 1},
        started_at=timezone.now() - timedelta(minutes=minutes_ago),
        actor_label="alice",
        **fields,
    )


@pytest.fixture
def deployments(orders, environments) -> dict[str, Deployment]:
    """Newest first: a watched staging rollback, a development promotion past its watch, a rolled back one."""
    staging, development = environments["staging"], environments["development"]
    return {
        "watching": _deployment(orders, staging, minutes_ago=5, kind=DeploymentKind.ROLLBACK),
        "ended": _deployment(orders, development, minutes_ago=60, auto_rollback_error_rate=0.05),
        "rolled_back": _deployment(orders, staging, minutes_ago=120, rolled_back_at=timezone.now()),
    }


def _ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.body
    return [item["id"] for item in answer.body["data"]]


def test_it_lists_deployments_newest_first_with_what_each_touched(admin, orders, deployments):
    answer = admin.get("/v1/deployments")
    assert _ids(answer) == [str(d.pk) for d in deployments.values()]
    ended = deployments["ended"]
    assert answer.body["data"][1] == {
        "id": str(ended.pk),
        "title": "Orders into development",
        "kind": "promotion",
        "environment": "development",
        "routes": [{"id": str(orders.pk), "name": "Orders", "revision": 2}],
        "applied_by": "alice",
        "applied_at": ended.started_at.isoformat().replace("+00:00", "Z"),
        "status": "watch_ended",
        "auto_rollback_error_rate": 0.05,
        "promotion": None,
        "reason": "",
        "rolled_back_at": None,
        "rolled_back_by": None,
        "link": f"http://testserver/deployments/{ended.pk}/",
    }
    assert [item["status"] for item in answer.body["data"]] == ["watching", "watch_ended", "rolled_back"]


def test_it_filters_by_route_environment_and_status(admin, orders, deployments, environments):
    other = route_create(actor=SYSTEM, name="Billing", target_base_url="https://b.example.com")
    billing = _deployment(other, environments["staging"], minutes_ago=1)
    assert _ids(admin.get("/v1/deployments", route="billing")) == [str(billing.pk)]
    by_uuid = _ids(admin.get("/v1/deployments", route=str(orders.pk)))
    assert by_uuid == [str(d.pk) for d in deployments.values()]
    staging = _ids(admin.get("/v1/deployments", environment="staging", route=orders.slug))
    assert staging == [str(deployments["watching"].pk), str(deployments["rolled_back"].pk)]
    for status, deployment in deployments.items():
        wanted = "watch_ended" if status == "ended" else status
        expected = [str(deployment.pk)] + ([str(billing.pk)] if wanted == "watching" else [])
        assert sorted(_ids(admin.get("/v1/deployments", status=wanted))) == sorted(expected)
    assert _ids(admin.get("/v1/deployments", environment="nowhere")) == []
    assert admin.get("/v1/deployments", route="nowhere").status_code == 404
    refused = admin.get("/v1/deployments", status="done")
    assert refused.status_code == 400 and "status" in refused.body["fields"]
    assert admin.get("/v1/deployments", kind="rollback").status_code == 400  # undocumented: refused


def test_it_pages_like_the_other_lists(admin, deployments):
    first = admin.get("/v1/deployments", per_page=2)
    second = admin.get("/v1/deployments", per_page=2, page=2)
    assert (first.body["meta"]["total"], first.body["meta"]["total_pages"]) == (3, 2)
    assert _ids(first) + _ids(second) == [str(d.pk) for d in deployments.values()]
    assert _ids(admin.get("/v1/deployments", per_page=2, page=3)) == []


def test_it_shows_one_deployment_with_its_watch_figures(admin, orders, deployments):
    deployment = deployments["watching"]
    start = deployment.started_at
    minute_bucket("staging", orders, start - timedelta(minutes=20), total=40, errors=2, latency_ms=20)
    minute_bucket("production", orders, start - timedelta(minutes=20), total=60, errors=0, latency_ms=20)
    minute_bucket("staging", orders, start + timedelta(minutes=1), total=30, errors=15, latency_ms=900)

    answer = admin.get(f"/v1/deployments/{deployment.pk}")

    assert answer.status_code == 200, answer.body
    data = answer.body["data"]
    assert (data["id"], data["kind"], data["environment"]) == (str(deployment.pk), "rollback", "staging")
    watch = data["watch"]
    assert watch["watching"] is True
    assert watch["ends"] == (start + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    # Staging only: production's calls are another environment's.
    before_p95, after_p95 = (histogram.percentile(latencies(ms, n), 95) for ms, n in ((20, 40), (900, 30)))
    assert watch["before"] == {"calls": 40, "error_rate": 0.05, "p95_ms": before_p95}
    assert watch["after"] == {"calls": 30, "error_rate": 0.5, "p95_ms": after_p95}
    assert before_p95 < after_p95


def test_it_answers_404_for_a_deployment_that_is_not_there(admin, deployments):
    for ident in (str(uuid.uuid4()), "not-a-uuid"):
        answer = admin.get(f"/v1/deployments/{ident}")
        assert answer.status_code == 404
        assert answer.body["error"]["message"] == f"No deployment '{ident}'."


def test_a_developer_never_sees_a_protected_environments_deployment(
    admin, developer, viewer, orders, deployments, environments
):
    production = _deployment(orders, environments["production"], minutes_ago=2)
    assert str(production.pk) in _ids(admin.get("/v1/deployments"))
    assert admin.get(f"/v1/deployments/{production.pk}").status_code == 200
    visible = [str(d.pk) for d in deployments.values()]
    for api in (developer, viewer):
        assert _ids(api.get("/v1/deployments")) == visible
        assert _ids(api.get("/v1/deployments", environment="production")) == []
        hidden = api.get(f"/v1/deployments/{production.pk}")
        assert hidden.status_code == 404
        assert hidden.body["error"]["message"] == f"No deployment '{production.pk}'."


def test_a_whole_route_rollback_is_seen_only_by_those_who_may_change_it_everywhere(
    admin, developer, viewer, orders
):
    # A Developer's route is created disabled in production: nothing of it reaches a protected environment.
    created = developer.post("/v1/routes", {"name": "Draft", "target_base_url": "https://d.example.com"})
    draft = Route.objects.get(pk=created.body["data"]["id"])
    live = _deployment(orders, None, minutes_ago=3, kind=DeploymentKind.ROLLBACK)
    drafted = _deployment(draft, None, minutes_ago=2, kind=DeploymentKind.ROLLBACK)
    gone = uuid.uuid4()
    deleted = Deployment.objects.create(
        kind=DeploymentKind.ROLLBACK,
        environment=None,
        route_ids=[str(gone)],
        revisions={str(gone): 3},
        started_at=timezone.now(),
        actor_label="alice",
    )

    assert set(_ids(admin.get("/v1/deployments"))) == {str(live.pk), str(drafted.pk), str(deleted.pk)}
    assert _ids(developer.get("/v1/deployments")) == [str(drafted.pk)]
    assert developer.get(f"/v1/deployments/{live.pk}").status_code == 404
    assert developer.get(f"/v1/deployments/{drafted.pk}").body["data"]["environment"] is None
    assert _ids(viewer.get("/v1/deployments")) == []  # Viewers change nothing


def test_a_route_rollback_answers_the_deployment_it_opened(admin, orders):
    answer = admin.post(f"/v1/routes/{orders.slug}/rollback", {"to_revision": 1, "reason": "staging broke"})
    assert answer.status_code == 200, answer.body
    deployment = Deployment.objects.get()
    assert answer.body["data"]["deployment"] == str(deployment.pk)
    assert answer.body["data"]["number"] == deployment.revisions[str(orders.pk)]  # the revision's fields stay
    shown = admin.get(f"/v1/deployments/{deployment.pk}").body["data"]
    assert (shown["kind"], shown["environment"], shown["reason"]) == ("rollback", None, "staging broke")

    again = admin.post(f"/v1/routes/{orders.slug}/rollback", {"to_revision": 1})
    assert again.status_code == 200 and again.body["data"]["deployment"] is None  # nothing changed
    assert Deployment.objects.count() == 1
