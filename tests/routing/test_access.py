"""The authentication matrix of the proxy: API keys, client IPs, requires_clients, trusted proxies."""

import pytest
from django.test import override_settings

from analytics import recorder
from analytics.models import RequestLog
from core.audit import SYSTEM
from environments.models import ApiKey
from environments.services import api_key_create, api_key_revoke, client_create, client_update
from routing.proxy import key_usage
from routing.services import route_client_assign, route_create, route_override_update

FOREIGN_IP = "203.0.113.9"


@pytest.fixture
def route(upstream, environments):
    return route_create(actor=SYSTEM, name="Access", slug="access", target_base_url=upstream.url)


@pytest.fixture
def behind_proxy():
    """The socket peer (127.0.0.1) is a trusted proxy, so X-Forwarded-For names the caller."""
    with override_settings(TRUSTED_PROXIES=["127.0.0.1", "::1"]):
        yield


def assign(route, environments, ip_address, *, name="office", envs=("production",), enabled=True):
    client = client_create(actor=SYSTEM, name=name, ip_address=ip_address, enabled=enabled)
    for env in envs:
        route_client_assign(actor=SYSTEM, route=route, environment=environments[env], client=client)
    return client


def call(gateway, *, ip=None, key=None, environment=None):
    headers = {}
    if ip is not None:
        headers["x-forwarded-for"] = ip
    if key is not None:
        headers["x-knoxcall-key"] = key
    return gateway.get("/echo", route="access", environment=environment, headers=headers)


def test_it_lets_a_valid_key_call_when_clients_are_not_required(
    gateway, upstream, route, environments, behind_proxy
):
    route_override_update(
        actor=SYSTEM, route=route, environment=environments["production"], requires_clients=False
    )
    _, raw_key = api_key_create(actor=SYSTEM, name="ci", role="viewer")
    gateway.reload()
    response = call(gateway, ip=FOREIGN_IP, key=raw_key)
    assert response.status_code == 200, response.text
    assert not [h for h, _ in upstream.complete[0].headers if h.lower() == "x-knoxcall-key"]


def test_it_refuses_a_revoked_key(gateway, upstream, route, environments, behind_proxy):
    route_override_update(
        actor=SYSTEM, route=route, environment=environments["production"], requires_clients=False
    )
    api_key, raw_key = api_key_create(actor=SYSTEM, name="old", role="viewer")
    api_key_revoke(actor=SYSTEM, api_key=api_key)
    gateway.reload()
    response = call(gateway, ip=FOREIGN_IP, key=raw_key)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"
    assert upstream.received == []


def test_it_refuses_a_key_that_may_not_invoke(gateway, upstream, route, environments, behind_proxy):
    route_override_update(
        actor=SYSTEM, route=route, environment=environments["production"], requires_clients=False
    )
    _, raw_key = api_key_create(actor=SYSTEM, name="api-only", role="administrator", may_invoke=False)
    gateway.reload()
    assert call(gateway, ip=FOREIGN_IP, key=raw_key).status_code == 401


def test_it_lets_an_allowed_ip_call_without_a_key(gateway, route, environments, behind_proxy):
    assign(route, environments, "198.51.100.7")
    gateway.reload()
    assert call(gateway, ip="198.51.100.7").status_code == 200


def test_it_refuses_a_foreign_ip_without_a_key(gateway, upstream, route, environments, behind_proxy):
    assign(route, environments, "198.51.100.7")
    gateway.reload()
    response = call(gateway, ip=FOREIGN_IP)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "invalid_api_key"
    assert body["ip"] == FOREIGN_IP  # says which address was checked, and what is missing
    assert FOREIGN_IP in body["error"] and "no client assigned to this route in production" in body["error"]
    assert upstream.received == []


def test_it_refuses_a_valid_key_from_a_foreign_ip_when_clients_are_required(
    gateway, upstream, route, environments, behind_proxy
):
    assign(route, environments, "198.51.100.7")
    _, raw_key = api_key_create(actor=SYSTEM, name="ci", role="viewer")
    gateway.reload()
    response = call(gateway, ip=FOREIGN_IP, key=raw_key)
    assert response.status_code == 403
    assert response.json()["code"] == "ip_not_authorized"
    assert response.json()["ip"] == FOREIGN_IP
    assert upstream.received == []
    assert call(gateway, ip="198.51.100.7", key=raw_key).status_code == 200


def test_it_applies_requires_clients_per_environment(gateway, route, environments, behind_proxy):
    route_override_update(
        actor=SYSTEM, route=route, environment=environments["development"], requires_clients=False
    )
    _, raw_key = api_key_create(actor=SYSTEM, name="ci", role="viewer")
    gateway.reload()
    assert call(gateway, ip=FOREIGN_IP, key=raw_key, environment="production").status_code == 403
    assert call(gateway, ip=FOREIGN_IP, key=raw_key, environment="development").status_code == 200
    assert call(gateway, ip=FOREIGN_IP, environment="development").status_code == 401


def test_it_ignores_a_disabled_client(gateway, route, environments, behind_proxy):
    client = assign(route, environments, "198.51.100.7")
    client_update(actor=SYSTEM, client=client, enabled=False)
    gateway.reload()
    assert call(gateway, ip="198.51.100.7").status_code == 401


def test_it_ignores_a_client_assigned_to_another_environment(gateway, route, environments, behind_proxy):
    assign(route, environments, "198.51.100.7", envs=("staging",))
    gateway.reload()
    assert call(gateway, ip="198.51.100.7", environment="staging").status_code == 200
    assert call(gateway, ip="198.51.100.7", environment="production").status_code == 401


@pytest.mark.parametrize(
    ("network", "inside", "outside"),
    [
        ("10.20.0.0/16", "10.20.255.1", "10.21.0.1"),
        ("2001:db8:abcd::/48", "2001:db8:abcd:12::5", "2001:db8:abce::5"),
        ("10.20.0.0/16", "::ffff:10.20.3.4", "::ffff:10.21.3.4"),  # IPv4-mapped IPv6 counts as IPv4
        ("::ffff:10.20.0.0/112", "10.20.9.9", "10.21.9.9"),
    ],
)
def test_it_matches_v4_and_v6_networks(gateway, route, environments, behind_proxy, network, inside, outside):
    assign(route, environments, network)
    gateway.reload()
    assert call(gateway, ip=inside).status_code == 200
    refused = call(gateway, ip=outside)
    assert refused.status_code == 401


def test_it_ignores_a_spoofed_forwarded_for_from_an_untrusted_peer(gateway, route, environments):
    assign(route, environments, "198.51.100.0/24")
    gateway.reload()
    with override_settings(TRUSTED_PROXIES=[]):
        response = call(gateway, ip="198.51.100.7")
    assert response.status_code == 401


def test_it_reports_the_resolved_ip_on_a_refusal(gateway, route, environments):
    _, raw_key = api_key_create(actor=SYSTEM, name="ci", role="viewer")
    gateway.reload()
    with override_settings(TRUSTED_PROXIES=[]):
        response = call(gateway, ip="198.51.100.7", key=raw_key)
    assert response.status_code == 403
    assert response.json()["ip"] == "127.0.0.1"


def test_it_logs_refusals_and_the_key_of_allowed_calls(gateway, route, environments, behind_proxy):
    assign(route, environments, "198.51.100.7")
    api_key, raw_key = api_key_create(actor=SYSTEM, name="ci", role="viewer")
    gateway.reload()
    call(gateway, ip=FOREIGN_IP)
    call(gateway, ip=FOREIGN_IP, key=raw_key)
    call(gateway, ip="198.51.100.7", key=raw_key)
    recorder.flush()
    rows = RequestLog.objects.filter(route_id=route.pk)
    logged = {(row.status, row.error_code, row.api_key_id) for row in rows}
    assert logged == {
        (401, "invalid_api_key", None),
        (403, "ip_not_authorized", api_key.pk),
        (200, "", api_key.pk),
    }


def test_it_records_key_usage_in_a_batch(gateway, route, environments, behind_proxy, queries_by_thread):
    assign(route, environments, "198.51.100.7")
    api_key, raw_key = api_key_create(actor=SYSTEM, name="ci", role="viewer")
    gateway.reload()
    key_usage.flush()  # keys noted by earlier tests are not this test's business
    queries_by_thread.clear()
    for _ in range(10):
        call(gateway, ip="198.51.100.7", key=raw_key)
    key_usage.flush()
    # Nothing written per call: one batched UPDATE, two if the background flush ran between the calls.
    updates = [sql for _, sql in queries_by_thread if sql.startswith("UPDATE") and "apikey" in sql]
    assert 1 <= len(updates) <= 2, updates
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None
