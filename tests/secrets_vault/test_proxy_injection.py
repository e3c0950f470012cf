"""Injection at the proxy, against the real gateway and the recording upstream."""

import json

from core.audit import SYSTEM
from secrets_vault.services import secret_delete_value
from tests.secrets_vault.conftest import route_to
from tests.support.upstream import echo_json


def _flush_logs():
    from analytics.models import RequestLog
    from analytics.recorder import flush

    flush()
    return RequestLog.objects.order_by("-timestamp")


def test_it_injects_each_environments_value_into_headers(gateway, upstream, injecting_route):
    gateway.reload()
    for environment, expected in [
        ("production", "sk_live_prod"),
        ("staging", "sk_test_staging"),
        ("development", "sk_test_dev"),
    ]:
        upstream.clear()
        response = gateway.get("/v1/charges", environment=environment)
        assert response.status_code == 200, response.text
        received = upstream.complete[0]
        assert received.all("authorization") == [f"Bearer {expected}"]
        assert received.header("x-env") == environment


def test_it_merges_the_json_body_with_the_environments_value(gateway, upstream, injecting_route):
    gateway.reload()
    body = {"amount": 100, "meta": {"order": "o-1"}}
    response = gateway.request("POST", "/v1/charges", environment="staging", json=body)
    assert response.status_code == 200, response.text
    sent = json.loads(upstream.complete[0].body)
    assert sent == {
        "amount": 100,
        "api_key": "sk_test_staging",
        "meta": {"order": "o-1", "route": "Payments"},
    }
    assert int(upstream.complete[0].header("content-length")) == len(upstream.complete[0].body)


def test_it_merges_into_a_chunked_json_body(gateway, upstream, injecting_route):
    gateway.reload()
    chunks = iter([b'{"amount":', b" 7}"])
    response = gateway.request(
        "POST",
        "/x",
        environment="development",
        content=chunks,
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    assert json.loads(upstream.complete[0].body) == {
        "amount": 7,
        "api_key": "sk_test_dev",
        "meta": {"route": "Payments"},
    }


def test_it_leaves_a_non_json_body_alone(gateway, upstream, injecting_route):
    gateway.reload()
    response = gateway.request(
        "POST",
        "/x",
        environment="staging",
        content=b"a=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert upstream.complete[0].body == b"a=1"
    assert upstream.complete[0].header("authorization") == "Bearer sk_test_staging"


def test_it_refuses_a_json_body_that_is_not_an_object(gateway, upstream, injecting_route):
    gateway.reload()
    response = gateway.request("POST", "/x", environment="staging", json=[1, 2])
    assert response.status_code == 400
    assert upstream.received == []


def test_it_replaces_the_callers_copy_of_an_injected_header(gateway, upstream, injecting_route):
    gateway.reload()
    response = gateway.get(
        "/x",
        environment="production",
        headers={
            "Authorization": "Bearer caller-own",
            "X-ENV": "spoofed",
            "Connection": "Authorization, X-Env",
        },
    )
    assert response.status_code == 200
    received = upstream.complete[0]
    assert received.all("authorization") == ["Bearer sk_live_prod"]
    assert received.all("x-env") == ["production"]


def test_it_fails_closed_when_the_environment_has_no_value(
    gateway, upstream, environments, injecting_route, api_secret
):
    secret_delete_value(actor=SYSTEM, secret=api_secret, environment=environments["staging"])
    gateway.reload()
    response = gateway.request("POST", "/v1/charges", environment="staging", json={"amount": 1})
    assert response.status_code == 500
    error = response.json()
    assert error["code"] == "secret_missing"
    assert "STRIPE_KEY" in error["error"] and "staging" in error["error"]
    assert upstream.received == []
    assert gateway.get("/ok", environment="production").status_code == 200


def test_it_records_the_names_of_the_secrets_used(gateway, upstream, injecting_route):
    gateway.reload()
    response = gateway.get("/x", environment="production")
    row = _flush_logs().get(request_id=response.headers["x-request-id"])
    assert row.secrets_used == ["STRIPE_KEY"]


def test_it_renders_request_id_and_timestamp(gateway, upstream, api_secret):

    route_to(
        upstream,
        name="Stamped",
        inject_headers_json={"X-Trace": "{{request_id}}@{{timestamp}}"},
    )
    gateway.reload()
    response = gateway.get("/x", headers={"X-Request-Id": "req-123"})
    trace = echo_json(response) and upstream.complete[0].header("x-trace")
    assert trace.startswith("req-123@") and trace.endswith("Z")
