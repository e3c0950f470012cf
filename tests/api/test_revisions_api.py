"""/v1 route revisions: list, detail, diff, rollback and compare, in the envelope; deleted routes by UUID."""

import pytest

from core.audit import SYSTEM
from deployments.models import Deployment
from routing.document import document_digest, route_document
from routing.models import Route, RouteRevision
from routing.releases import start_release
from routing.services import route_create, route_delete, route_override_update, route_update
from secrets_vault.services import secret_create, secret_rename, secret_set_value


@pytest.fixture
def route(environments) -> Route:
    route = route_create(actor=SYSTEM, name="Orders", slug="orders", target_base_url="http://127.0.0.1:9")
    route_override_update(actor=SYSTEM, route=route, environment=environments["staging"], timeout_ms=2000)
    route_update(actor=SYSTEM, route=route, timeout_ms=9000)
    return Route.objects.get(pk=route.pk)


def test_it_lists_revisions_newest_first_with_pagination(admin, route):
    answer = admin.get("/v1/routes/orders/revisions", per_page=2)
    assert answer.status_code == 200
    assert [r["number"] for r in answer.body["data"]] == [3, 2]
    assert answer.body["meta"]["total"] == 3
    assert answer.body["data"][1]["fields"] == ["overrides.staging"]


def test_it_shows_one_revision_with_its_document(viewer, route):
    answer = viewer.get("/v1/routes/orders/revisions/2")
    assert answer.body["data"]["document"]["overrides"] == {"staging": {"timeout_ms": 2000}}
    assert viewer.get("/v1/routes/orders/revisions/99").status_code == 404
    assert viewer.get("/v1/routes/orders/revisions/x").status_code == 404


def test_it_diffs_a_revision_against_current_and_another(viewer, route):
    current = viewer.get("/v1/routes/orders/revisions/1/diff").body["data"]
    rows = {(c["environment"], c["field"]): c for c in current["changes"]}
    assert rows[("staging", "timeout_ms")] == {
        "environment": "staging",
        "field": "timeout_ms",
        "before": 30000,
        "after": 2000,
        "provenance_before": "inherited",
        "provenance_after": "overridden",
        "changed": True,
    }
    assert rows[("production", "timeout_ms")]["after"] == 9000
    against_two = viewer.get("/v1/routes/orders/revisions/1/diff", against="2").body["data"]["changes"]
    assert [(c["environment"], c["field"]) for c in against_two] == [("staging", "timeout_ms")]


def test_rollback_answers_the_new_revision(admin, route):
    answer = admin.post("/v1/routes/orders/rollback", {"to_revision": 2, "reason": "too slow"})
    assert answer.status_code == 200, answer.body
    data = answer.body["data"]
    assert (data["number"], data["restored_from"], data["action"], data["reason"]) == (
        4,
        2,
        "rollback",
        "too slow",
    )
    assert data["digest"] == admin.get("/v1/routes/orders/revisions/2").body["data"]["digest"]
    stored = RouteRevision.objects.get(route_id=route.pk, number=4)
    assert stored.api_key_id and stored.actor_label.startswith("api-key:administrator key")


def test_rollback_of_one_environment(admin, route):
    answer = admin.post(
        "/v1/routes/orders/rollback", {"to_revision": 1, "scope": "environment", "environment": "staging"}
    )
    assert answer.status_code == 200, answer.body
    assert route_document(Route.objects.get(pk=route.pk))["overrides"] == {"staging": {"timeout_ms": 30000}}


def test_a_deleted_route_is_listed_and_brought_back_by_uuid(admin, route):
    route_id = str(route.pk)
    route_delete(actor=SYSTEM, route=route)
    assert admin.get("/v1/routes/orders/revisions").status_code == 404  # the slug is gone with the route
    listed = admin.get(f"/v1/routes/{route_id}/revisions").body["data"]
    assert (listed[0]["action"], listed[0]["deleted"]) == ("delete", True)
    answer = admin.post(f"/v1/routes/{route_id}/rollback", {"to_revision": 3})
    assert answer.status_code == 200, answer.body
    assert admin.get("/v1/routes/orders").body["data"]["id"] == route_id


def test_rollback_refused_with_secret_missing_changes_nothing(admin, route, environments):
    secret = secret_create(actor=SYSTEM, name="TOKEN")
    for environment in environments.values():
        secret_set_value(actor=SYSTEM, secret=secret, environment=environment, value="v")
    route_update(actor=SYSTEM, route=route, inject_headers_json={"X-Key": "{{secret:TOKEN}}"})
    route_update(actor=SYSTEM, route=route, inject_headers_json={})
    secret_rename(actor=SYSTEM, secret=secret, name="RENAMED")
    digest = document_digest(route_document(Route.objects.get(pk=route.pk)))

    answer = admin.post("/v1/routes/orders/rollback", {"to_revision": 4})

    assert (answer.status_code, answer.body["error"]["type"]) == (400, "secret_missing")
    assert document_digest(route_document(Route.objects.get(pk=route.pk))) == digest
    assert admin.get("/v1/routes/orders/revisions").body["meta"]["total"] == 5


def test_rollback_that_would_move_a_running_releases_baseline_is_refused_with_its_code(
    admin, route, environments
):
    start_release(
        SYSTEM, route, environments["production"], candidate={"target_base_url": "http://127.0.0.1:9/v2"}
    )
    digest = document_digest(route_document(Route.objects.get(pk=route.pk)))

    answer = admin.post(
        "/v1/routes/orders/rollback", {"to_revision": 2}
    )  # production's timeout 9000 -> 30000

    assert (answer.status_code, answer.body["status"]) == (409, 409)
    assert answer.body["error"]["type"] == "release_in_progress"
    assert "in production: timeout_ms" in answer.body["error"]["message"]
    assert document_digest(route_document(Route.objects.get(pk=route.pk))) == digest
    assert admin.get("/v1/routes/orders/revisions").body["meta"]["total"] == 3
    assert not Deployment.objects.exists()
    staging = {"to_revision": 1, "scope": "environment", "environment": "staging"}
    assert admin.post("/v1/routes/orders/rollback", staging).status_code == 200  # not the release's


def test_roles_apply_to_rollback(viewer, developer, route):
    assert viewer.post("/v1/routes/orders/rollback", {"to_revision": 1}).status_code == 403
    assert developer.post("/v1/routes/orders/rollback", {"to_revision": 1}).status_code == 403  # production
    assert (
        developer.post(
            "/v1/routes/orders/rollback", {"to_revision": 1, "scope": "environment", "environment": "staging"}
        ).status_code
        == 200
    )


def test_compare_two_environments_with_provenance(viewer, route):
    answer = viewer.get("/v1/routes/orders/compare", **{"from": "production", "to": "staging"})
    data = answer.body["data"]
    assert (data["source"], data["target"]) == ("production", "staging")
    rows = {r["field"]: r for r in data["fields"]}
    assert (rows["timeout_ms"]["before"], rows["timeout_ms"]["after"], rows["timeout_ms"]["changed"]) == (
        9000,
        2000,
        True,
    )
    assert rows["timeout_ms"]["provenance_after"] == "overridden"
    assert rows["enabled"]["changed"] is False
    assert viewer.get("/v1/routes/orders/compare", **{"from": "production"}).status_code == 400
    assert viewer.get("/v1/routes/orders/compare", **{"from": "production", "to": "nope"}).status_code == 404
