"""Route and environment selection, per-environment overrides and refusals, against a real upstream."""

import pytest

from core.audit import SYSTEM
from environments.services import environment_update
from routing.services import route_create, route_override_update, route_update
from tests.support.access import allow_local_callers
from tests.support.upstream import echo_json


@pytest.fixture
def route(gateway, upstream):
    route = allow_local_callers(
        route_create(
            actor=SYSTEM, name="Payments API", slug="payments", target_base_url=upstream.url + "/prod"
        )
    )
    gateway.reload()
    return route


def override(route, environment, **fields):
    return route_override_update(actor=SYSTEM, route=route, environment=environment, **fields)


def test_it_uses_the_default_environment_without_a_header(gateway, upstream, route):
    response = gateway.get("/v1/charges?limit=2", route="payments")
    assert response.status_code == 200
    assert response.headers["x-knoxcall-environment"] == "production"
    assert echo_json(response)["path"] == "/prod/v1/charges"
    assert echo_json(response)["query"] == "limit=2"


@pytest.mark.parametrize("key", ["payments", "Payments API", "route-id"])
def test_it_finds_the_route_by_slug_name_or_id(gateway, upstream, route, key):
    response = gateway.get("/x", route=str(route.pk) if key == "route-id" else key)
    assert response.status_code == 200


def test_it_serves_the_override_target_and_inherits_elsewhere(gateway, upstream, route, environments):
    override(route, environments["staging"], target_base_url=upstream.url + "/staging")
    gateway.reload()
    assert echo_json(gateway.get("/a", route="payments", environment="staging"))["path"] == "/staging/a"
    assert echo_json(gateway.get("/a", route="payments", environment="development"))["path"] == "/prod/a"
    override(route, environments["staging"], target_base_url=None)
    gateway.reload()
    assert echo_json(gateway.get("/a", route="payments", environment="staging"))["path"] == "/prod/a"


def test_it_answers_404_for_an_unknown_route(gateway, upstream):
    response = gateway.get("/x", route="nope")
    assert response.status_code == 404
    assert response.json()["code"] == "route_not_found"
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert upstream.received == []


def test_it_answers_404_for_an_unknown_environment(gateway, upstream, route):
    response = gateway.get("/x", route="payments", environment="qa")
    assert response.status_code == 404
    assert response.json()["code"] == "environment_not_found"
    assert upstream.received == []


def test_it_refuses_a_disabled_route_in_every_environment(gateway, upstream, route):
    route_update(actor=SYSTEM, route=route, enabled=False)
    gateway.reload()
    for environment in ("production", "staging"):
        response = gateway.get("/x", route="payments", environment=environment)
        assert response.status_code == 503
        assert response.json()["code"] == "route_disabled"
    assert upstream.received == []


def test_it_pauses_only_the_disabled_environment(gateway, upstream, route, environments):
    override(route, environments["staging"], enabled=False)
    gateway.reload()
    assert gateway.get("/x", route="payments", environment="staging").status_code == 503
    assert gateway.get("/x", route="payments", environment="production").status_code == 200
    assert len(upstream.complete) == 1


def test_it_refuses_methods_outside_the_allowed_list(gateway, upstream, route, environments):
    route_update(actor=SYSTEM, route=route, allowed_methods=["get", "POST"])
    override(route, environments["development"], allowed_methods=["DELETE"])
    gateway.reload()
    refused = gateway.request("PUT", "/x", route="payments")
    assert refused.status_code == 405
    assert refused.json()["code"] == "method_not_allowed"
    assert refused.headers["allow"] == "GET, POST"
    assert gateway.request("POST", "/x", route="payments", content=b"{}").status_code == 200
    assert gateway.request("GET", "/x", route="payments", environment="development").status_code == 405
    assert gateway.request("DELETE", "/x", route="payments", environment="development").status_code == 200
    assert [r.method for r in upstream.complete] == ["POST", "DELETE"]


def test_it_applies_the_environment_timeout(gateway, upstream, route, environments):
    override(route, environments["staging"], timeout_ms=300)
    gateway.reload()
    slow = gateway.get("/sleep/1500", route="payments", environment="staging")
    assert slow.status_code == 504
    assert slow.json()["code"] == "upstream_timeout"
    assert gateway.get("/sleep/500", route="payments", environment="production").status_code == 200


def test_it_marks_a_target_aimed_at_itself_as_a_loop(gateway, upstream, route, environments, settings):
    settings.GATEWAY_PORT = gateway.server.port
    override(route, environments["staging"], target_base_url=gateway.url)
    gateway.reload()
    response = gateway.get("/admin/", route="payments", environment="staging")
    assert response.status_code == 508
    assert response.json()["code"] == "loop_detected"


def test_it_never_forwards_knoxcall_headers(gateway, upstream, route):
    gateway.get("/x", route="payments", environment="production", headers={"x-knoxcall-key": "tk_test_x"})
    names = {name.lower() for name, _ in upstream.complete[0].headers}
    assert not any(name.startswith("x-knoxcall-") for name in names)


def test_it_keeps_a_sane_request_id_and_replaces_a_bad_one(gateway, upstream, route):
    kept = gateway.get("/x", route="payments", headers={"x-request-id": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    assert upstream.complete[-1].header("x-request-id") == "abc-123"
    replaced = gateway.get("/x", route="payments", headers={"x-request-id": "bad id <script>"})
    assert replaced.headers["x-request-id"] != "bad id <script>"
    assert len(replaced.headers["x-request-id"]) == 32


def test_it_refuses_a_protected_environment_change_by_a_developer(environments, upstream):
    from django.core.exceptions import PermissionDenied

    from core.audit import Actor

    developer = Actor(label="dev", role="developer")
    route = route_create(actor=developer, name="R", target_base_url=upstream.url)
    with pytest.raises(PermissionDenied, match="production is protected"):
        route_override_update(
            actor=developer, route=route, environment=environments["production"], timeout_ms=1000
        )
    with pytest.raises(PermissionDenied):
        environment_update(actor=developer, environment=environments["production"], description="x")
    route_override_update(actor=developer, route=route, environment=environments["staging"], timeout_ms=1000)
