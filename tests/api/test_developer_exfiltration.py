"""The attack end to end: a Developer must not get a production secret value to their server.

The attacker holds a Developer API key (which may invoke routes). They give the secret a value in the
environments they may change, create a route whose base injects `{{secret:PAYMENT_KEY}}` and whose target
is their own server (here, the recording upstream), and call it with `x-knoxcall-environment: production`.
Before the fix the production value arrived at their server; now the route is disabled in every protected
environment until an Administrator enables it there, and the attacker cannot enable it.
"""

import pytest
from django.test import Client as DjangoClient

from core.audit import SYSTEM
from environments.services import api_key_create
from routing.models import Route
from secrets_vault.services import secret_create, secret_set_value
from tests.support.console import make_user

PRODUCTION_VALUE = "sk_live_production_only"
ROUTE_FIELDS = {
    "requires_clients": False,  # the attacker's own key is enough to call it
    "inject_headers_json": {"X-Leak": "{{secret:PAYMENT_KEY}}"},
    "inject_body_json": {"leak": "{{secret:PAYMENT_KEY}}"},
}


@pytest.fixture
def payment_key(environments):
    """An Administrator's secret: a production value the attacker must never see."""
    secret = secret_create(actor=SYSTEM, name="PAYMENT_KEY")
    secret_set_value(
        actor=SYSTEM, secret=secret, environment=environments["production"], value=PRODUCTION_VALUE
    )
    return secret


def _leaked(upstream) -> list:
    """Every request the attacker's server received that carries the production value."""
    return [r for r in upstream.received if PRODUCTION_VALUE in repr(r.headers) + r.body.decode("latin-1")]


def _call_production(gateway, route: str, raw_key: str):
    return gateway.request(
        "POST",
        "/steal",
        route=route,
        environment="production",
        headers={"x-knoxcall-key": raw_key},
        json={"amount": 1},
    )


def test_a_developer_key_cannot_route_a_production_secret_to_its_own_server(
    gateway, upstream, payment_key, developer, raw_keys
):
    for environment in ("staging", "development"):
        set_value = {"value": f"sk_test_{environment}", "environment": environment}
        assert developer.put("/v1/secrets/PAYMENT_KEY/value", set_value).status_code == 200
    created = developer.post("/v1/routes", {"name": "Exfil", "target_base_url": upstream.url, **ROUTE_FIELDS})
    assert created.status_code == 201, created.body
    gateway.reload()

    response = _call_production(gateway, "exfil", raw_keys["developer"])
    assert _leaked(upstream) == []
    assert upstream.received == []  # the attacker's server was never called
    assert response.status_code == 503 and response.json()["code"] == "route_disabled"
    assert "disabled in production" in created.body["meta"]["notice"]

    # Nor can the attacker switch production on, directly or by removing the override that pins it off.
    enable = developer.put("/v1/routes/exfil/environments/production", {"enabled": True})
    assert enable.status_code == 403
    assert enable.body["error"]["message"] == (
        "production is protected: only an Administrator can change it. A route a Developer creates stays "
        "disabled there until an Administrator enables it."
    )
    assert developer.delete("/v1/routes/exfil/environments/production").status_code == 403
    # Editing the base (which production would inherit) is allowed and still does not reach production.
    assert developer.patch("/v1/routes/exfil", {"enabled": True, "timeout_ms": 5000}).status_code == 200
    gateway.reload()
    assert _call_production(gateway, "exfil", raw_keys["developer"]).status_code == 503
    assert upstream.received == []

    # The same route works where the Developer may change things: the set-up would have leaked before.
    staging = gateway.request(
        "GET", "/x", route="exfil", environment="staging", headers={"x-knoxcall-key": raw_keys["developer"]}
    )
    assert staging.status_code == 200, staging.text
    assert upstream.complete[0].header("x-leak") == "sk_test_staging"
    assert _leaked(upstream) == []


def test_a_developer_copy_of_a_production_route_stays_disabled_there(
    gateway, upstream, payment_key, developer, raw_keys, environments
):
    """Duplicating an Administrator's live route, then pointing the copy at the attacker's server."""
    from routing.services import route_create, route_override_update

    for environment in ("staging", "development"):
        secret_set_value(actor=SYSTEM, secret=payment_key, environment=environments[environment], value="t")
    legit = route_create(
        actor=SYSTEM, name="Payments", target_base_url="https://api.example.com", **ROUTE_FIELDS
    )
    route_override_update(actor=SYSTEM, route=legit, environment=environments["production"], timeout_ms=9000)
    client = DjangoClient()
    client.force_login(make_user("developer", password=None))
    assert client.post(f"/routes/{legit.pk}/duplicate/").status_code == 302
    copy = Route.objects.get(name="Payments (copy)")
    assert developer.patch(f"/v1/routes/{copy.slug}", {"target_base_url": upstream.url}).status_code == 200
    gateway.reload()

    response = _call_production(gateway, copy.slug, raw_keys["developer"])
    assert response.status_code == 503 and response.json()["code"] == "route_disabled"
    assert upstream.received == []
    # The Administrator's production setting came along, pinned off until an Administrator enables it.
    override = copy.overrides.get(environment=environments["production"])
    assert (override.enabled, override.timeout_ms) == (False, 9000)


def test_a_developer_cannot_do_it_through_the_console_form_either(
    gateway, upstream, payment_key, environments
):
    for environment in ("staging", "development"):
        secret_set_value(actor=SYSTEM, secret=payment_key, environment=environments[environment], value="t")
    _, raw_key = api_key_create(actor=SYSTEM, name="attacker", role="developer")
    client = DjangoClient()
    client.force_login(make_user("developer", password=None))
    response = client.post(
        "/routes/new/",
        {
            "name": "Console exfil",
            "target_base_url": upstream.url,
            "enabled": "on",
            "timeout_ms": "30000",
            "inject_headers_json": '{"X-Leak": "{{secret:PAYMENT_KEY}}"}',
            "inject_body_json": "{}",
            "rate_limit_requests": "10",
            "rate_limit_window_sec": "60",
            "rate_limit_burst": "0",
        },
        follow=True,
    )
    assert response.status_code == 200
    created_page = response.content.decode()
    gateway.reload()

    response = _call_production(gateway, "console-exfil", raw_key)
    assert upstream.received == []
    assert response.status_code == 503 and response.json()["code"] == "route_disabled"
    # The form says so before the Developer saves, and the page after saving says it again.
    assert "disabled in production" in client.get("/routes/new/").content.decode()
    assert "It is disabled in production (protected)" in created_page
