"""The proxy's decisions, driven with ASGI events and fake parts (tests/support/proxy_harness.py): no server,
no socket and no database (pytest-django refuses any query here), so each test takes milliseconds. The
real-server tests (test_proxy_routing.py, test_access.py, ...) still run every behaviour end to end."""

import uuid

from routing.access_table import KeyInfo
from routing.proxy.ratelimit import Verdict
from secrets_vault.injection import SecretInfo, Vault
from tests.support.proxy_harness import FakeUpstream, open_route, run, table_of

ORDERS = open_route("orders", "http://orders.test/v1")
KEY = "tk_test_" + "k" * 40


def test_it_forwards_to_the_default_environment_with_the_gateway_headers():
    upstream = FakeUpstream()
    answer = run(table_of([ORDERS]), "/items?x", headers={"x-knoxcall-route": "orders"}, upstream=upstream)
    assert answer.status == 200
    sent = upstream.sent[0]
    assert sent.url == "http://orders.test/v1/items?x"
    assert sent.headers["host"] == "orders.test"
    assert sent.headers["x-request-id"] == answer.headers["x-request-id"]
    assert "x-knoxcall-route" not in sent.headers  # the gateway's own headers never leave
    assert answer.headers["x-knoxcall-environment"] == "production"
    (record,) = answer.records
    assert (record.route_slug, record.environment, record.status) == ("orders", "production", 200)


def test_it_serves_an_environment_override_and_refuses_an_unknown_environment():
    table = table_of([ORDERS], overrides={("orders", "staging"): {"target_base_url": "http://staging.test"}})
    upstream = FakeUpstream()
    staging = run(
        table,
        "/a",
        headers={"x-knoxcall-route": "orders", "x-knoxcall-environment": "staging"},
        upstream=upstream,
    )
    assert staging.status == 200 and upstream.sent[0].url == "http://staging.test/a"
    unknown = run(table, "/a", headers={"x-knoxcall-route": "orders", "x-knoxcall-environment": "qa"})
    assert (unknown.status, unknown.json()["code"]) == (404, "environment_not_found")


def test_it_answers_json_errors_with_a_code_and_records_them():
    table = table_of([ORDERS, open_route("off", enabled=False), open_route("gets", allowed_methods=["GET"])])
    missing = run(table, headers={"x-knoxcall-route": "nope"})
    assert missing.json() == {
        "error": "No route named 'nope'.",
        "code": "route_not_found",
        "status": 404,
        "request_id": missing.headers["x-request-id"],
    }
    assert missing.records[0].error_code == "route_not_found"
    assert run(table, headers={"x-knoxcall-route": "off"}).json()["code"] == "route_disabled"
    refused = run(table, method="POST", headers={"x-knoxcall-route": "gets"})
    assert (refused.status, refused.headers["allow"]) == (405, "GET")


def test_it_admits_by_client_ip_or_key_and_says_what_is_missing():
    guarded = open_route("guarded")
    key_id = str(uuid.uuid4())
    key = KeyInfo(id=key_id, name="ci", may_invoke=True, rate_limit_requests=None, rate_limit_window_sec=None)
    table = table_of([guarded], clients={("guarded", "production"): ["198.51.100.0/24"]}, api_keys={KEY: key})
    headers = {"x-knoxcall-route": "guarded"}
    assert run(table, headers=headers, client_ip="198.51.100.7").status == 200
    stranger = run(table, headers=headers, client_ip="203.0.113.9")
    assert (stranger.status, stranger.json()["code"], stranger.json()["ip"]) == (
        401,
        "invalid_api_key",
        "203.0.113.9",
    )
    keyed = run(table, headers={**headers, "x-knoxcall-key": KEY}, client_ip="203.0.113.9")
    assert (keyed.status, keyed.json()["code"]) == (403, "ip_not_authorized")  # a key does not lift the list
    assert keyed.records[0].api_key_id == key_id


def test_it_answers_429_with_the_limiter_s_headers():
    async def refuse(route, key):
        return Verdict(allowed=False, limit=5, remaining=0, reset=1_900_000_000, retry_after=7)

    answer = run(table_of([ORDERS]), headers={"x-knoxcall-route": "orders"}, limit=refuse)
    assert (answer.status, answer.json()["code"]) == (429, "rate_limited")
    assert (answer.headers["x-ratelimit-limit"], answer.headers["retry-after"]) == ("5", "7")


def test_it_injects_the_environment_s_secret_and_fails_closed_without_it():
    info = SecretInfo(id="s1", name="TOKEN", expires_at=None, strict_expiry=False)
    vault = Vault(by_name={"TOKEN": info}, by_id={"s1": info}, values={("s1", "production"): "prod-value"})
    injecting = open_route("pay", inject_headers_json={"Authorization": "Bearer {{secret:TOKEN}}"})
    table = table_of([injecting], vault=vault)
    upstream = FakeUpstream()
    sent = run(table, headers={"x-knoxcall-route": "pay", "authorization": "caller's own"}, upstream=upstream)
    assert sent.status == 200 and upstream.sent[0].headers["authorization"] == "Bearer prod-value"
    assert sent.records[0].secrets_used == ["TOKEN"]
    staging = run(
        table, headers={"x-knoxcall-route": "pay", "x-knoxcall-environment": "staging"}, upstream=upstream
    )
    assert (staging.status, staging.json()["code"]) == (500, "secret_missing")
    assert len(upstream.sent) == 1  # refused, never forwarded without its secret
