"""Bad input to /v1 answers 4xx in the envelope, never 500: huge or deeply nested bodies, unknown fields."""

import json

import httpx
import pytest
from django.test import Client as DjangoClient
from django.test import override_settings

from alerts.models import AlertRule
from core.audit import SYSTEM
from environments.services import client_create
from routing.models import Route
from routing.releases import start_release
from routing.services import route_create
from secrets_vault.services import secret_create, secret_set_value

BIG = b'{"name": "' + b"x" * 3_000_000 + b'"}'


def nested(depth: int, leaf=1):
    value = leaf
    for _ in range(depth):
        value = {"k": value}
    return value


def _assert_envelope(response, status: int, error_type: str) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["status"] == status
    assert body["error"]["type"] == error_type
    return body


def test_it_answers_413_for_a_body_over_the_limit_even_without_a_key(transactional_db):
    response = DjangoClient().post("/v1/routes", BIG, content_type="application/json")
    _assert_envelope(response, 413, "payload_too_large")


def test_it_answers_413_to_a_key_holder_before_touching_anything(admin):
    response = admin.client.post("/v1/routes", BIG, content_type="application/json", headers=admin.headers)
    _assert_envelope(response, 413, "payload_too_large")
    assert not Route.objects.exists()


def test_it_answers_413_for_a_chunked_body_over_the_limit_through_the_server(gateway, raw_keys):
    headers = {"Authorization": f"Bearer {raw_keys['administrator']}", "Content-Type": "application/json"}

    def chunks():  # no Content-Length: the size is only known once read
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=5000):
        response = httpx.post(f"{gateway.url}/v1/environments", content=chunks(), headers=headers)
    _assert_envelope(response, 413, "payload_too_large")


def test_it_answers_400_for_json_nested_deeper_than_the_parser_recurses(admin):
    body = "[" * 200_000 + "]" * 200_000
    response = admin.client.post("/v1/routes", body, content_type="application/json", headers=admin.headers)
    _assert_envelope(response, 400, "invalid_request")


@pytest.mark.parametrize("field", ["inject_body_json", "inject_headers_json"])
def test_it_bounds_stored_json_at_32_levels(admin, field):
    base = {"name": "Deep", "target_base_url": "https://api.example.com"}
    value = {"X-Deep": nested(32)} if field == "inject_headers_json" else nested(33)
    response = admin.post("/v1/routes", {**base, field: value})
    body = _assert_envelope(response, 400, "invalid_request")
    assert field in body["error"]["message"]
    ok = admin.post("/v1/routes", {**base, "inject_body_json": nested(32)})
    assert ok.status_code == 201, ok.body
    assert ok.body["data"]["inject_body_json"] == nested(32)


def test_it_refuses_values_no_database_can_store_in_injected_json(admin):
    base = {"name": "Odd", "target_base_url": "https://api.example.com"}
    for value in ({"a": "nul\u0000"}, {"a\ud800": "lone surrogate key"}):
        response = admin.client.post(
            "/v1/routes",
            json.dumps({**base, "inject_body_json": value}),
            content_type="application/json",
            headers=admin.headers,
        )
        _assert_envelope(response, 400, "invalid_request")
    assert not Route.objects.exists()


# --- unknown fields: every write operation of the schema refuses them, naming them ------------------------
def seed() -> dict[str, str]:
    route = route_create(
        actor=SYSTEM, name="Orders", slug="orders", target_base_url="https://api.example.com"
    )
    client_create(actor=SYSTEM, name="office", ip_address="10.0.0.1")
    secret = secret_create(actor=SYSTEM, name="TOKEN")
    from environments.models import Environment

    secret_set_value(
        actor=SYSTEM, secret=secret, environment=Environment.objects.get(name="staging"), value="v"
    )
    rule = AlertRule.objects.create(name="rule", type="latency", threshold=1)
    release = start_release(
        SYSTEM,
        route,
        Environment.objects.get(name="development"),
        candidate={"target_base_url": "https://b.example.com"},
    )
    return {
        "release": str(release.pk),
        "route": route.slug,
        "env": "staging",
        "client": "office",
        "secret": "TOKEN",
        "rule": str(rule.pk),
    }


def write_operations(admin) -> list[tuple[str, str]]:
    schema = admin.get("/v1/openapi.json").json()
    return sorted(
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "put", "patch") and "requestBody" in operation
    )


def test_it_refuses_an_unknown_field_on_every_write_operation_and_names_it(admin):
    ids = seed()
    operations = write_operations(admin)
    assert len(operations) >= 13
    for method, template in operations:
        path = template
        for name, value in ids.items():
            path = path.replace("{" + name + "}", value)
        response = admin.call(method, path, {"name": "n", "zz_not_a_field": 1, "expires_in": 5})
        body = _assert_envelope(response, 400, "invalid_request")
        assert set(body["fields"]) >= {"zz_not_a_field", "expires_in"}, (method, path, body)
        assert "zz_not_a_field" in body["error"]["message"]


def test_it_refuses_an_unknown_field_in_a_nested_object(admin):
    seed()
    response = admin.post(
        "/v1/clients",
        {
            "name": "ci",
            "ip_address": "10.0.0.2",
            "route_assignments": [{"route": "orders", "environment": "staging", "role": "x"}],
        },
    )
    body = _assert_envelope(response, 400, "invalid_request")
    assert "role" in json.dumps(body["fields"])


def test_a_unicode_digit_in_an_id_is_a_404_not_a_500(admin):
    # "¹" passes str.isdigit() but int() refuses it (found by the schemathesis pass).
    for path in ("/v1/alert-rules/¹", "/v1/environments/¹", "/v1/region-networks/¹"):
        assert admin.get(path).status_code == 404, path
