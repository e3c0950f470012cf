"""Helpers for vault tests: a secret with values per environment and a route that injects it."""

import pytest

from core.audit import SYSTEM
from routing.services import route_create
from secrets_vault.services import secret_create, secret_set_value
from tests.support.access import allow_local_callers


def make_secret(environments, name: str, values: dict[str, str], **fields):
    secret = secret_create(actor=SYSTEM, name=name, **fields)
    for environment, value in values.items():
        secret_set_value(actor=SYSTEM, secret=secret, environment=environments[environment], value=value)
    return secret


def route_to(upstream, name: str = "Injecting", **inject):
    """The route `demo` to the recording upstream, injecting what `inject` says."""
    route = route_create(actor=SYSTEM, name=name, slug="demo", target_base_url=upstream.url, **inject)
    return allow_local_callers(route)


@pytest.fixture
def api_secret(environments):
    return make_secret(
        environments,
        "STRIPE_KEY",
        {
            "production": "sk_live_prod",
            "staging": "sk_test_staging",
            "development": "sk_test_dev",
        },
    )


@pytest.fixture
def injecting_route(upstream, api_secret):
    return route_to(
        upstream,
        name="Payments",
        inject_headers_json={"Authorization": "Bearer {{secret:STRIPE_KEY}}", "X-Env": "{{environment}}"},
        inject_body_json={"api_key": "{{secret:STRIPE_KEY}}", "meta": {"route": "{{route.name}}"}},
    )
