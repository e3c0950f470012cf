"""A call that chose no route and matched no page: API clients learn which header to send; browsers keep the
console's 404 page; the console, /v1 and health answer as before."""

import uuid

import pytest
from django.test import Client


def test_an_api_client_without_the_route_header_gets_json_naming_the_header(gateway, upstream):
    response = gateway.get("/hello?x=1", route=None, headers={"Accept": "*/*"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    assert payload["code"] == "route_header_missing"
    assert payload["status"] == 404
    assert payload["header"] == "x-knoxcall-route"
    assert "x-knoxcall-route" in payload["error"]
    assert payload["request_id"] == response.headers["x-request-id"]
    assert upstream.received == []


@pytest.mark.parametrize("path", ["/ws/analytics/", "/ws/nope/", "/charges"])
def test_no_accept_header_counts_as_an_api_client(gateway, path):
    response = gateway.client.request("POST", path, headers={"Accept": ""}, content=b"{}")
    assert response.status_code == 404
    assert response.json()["code"] == "route_header_missing"


def test_a_caller_request_id_is_kept(gateway):
    response = gateway.get("/hello", route=None, headers={"X-Request-Id": "trace-123"})
    assert response.json()["request_id"] == "trace-123"


def test_a_browser_keeps_the_consoles_html_404(gateway):
    response = gateway.get(
        "/hello", route=None, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


def test_an_unknown_api_path_gets_the_api_envelope(gateway):
    response = gateway.get("/v1/nope", route=None, headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"
    assert response.json()["status"] == 404
    assert response.json()["error"]["request_id"] == response.headers["x-request-id"]


def test_console_health_and_api_paths_are_untouched(gateway):
    assert gateway.get("/healthz", route=None).status_code == 200
    assert gateway.get("/login/", route=None).status_code == 200
    assert gateway.get("/", route=None).status_code == 302  # the console's home: a sign-in redirect
    assert gateway.get("/v1/routes", route=None).status_code == 401  # the API's own answer, not a 404
    missing_static = gateway.get("/static/nope.css", route=None)
    assert missing_static.status_code == 404
    assert "route_header_missing" not in missing_static.text


def test_a_views_own_404_is_left_alone(admin_client):
    # An object that does not exist is the console's 404, whatever the Accept header says.
    response = admin_client.get(f"/routes/{uuid.uuid4()}/", HTTP_ACCEPT="*/*")
    assert response.status_code == 404
    assert b"route_header_missing" not in response.content


@pytest.mark.parametrize("debug", [True, False])
def test_it_holds_with_debug_on_and_off(db, settings, debug):
    settings.DEBUG = debug
    response = Client().get("/hello", HTTP_ACCEPT="application/json")
    assert response.status_code == 404
    assert response.json()["code"] == "route_header_missing"
    html = Client().get("/hello", HTTP_ACCEPT="text/html")
    assert html.status_code == 404
    assert html["Content-Type"].startswith("text/html")


def test_a_missing_slash_still_redirects_first(db):
    response = Client().get("/routes", HTTP_ACCEPT="*/*")
    assert response.status_code == 301
    assert response["Location"] == "/routes/"
