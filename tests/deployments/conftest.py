"""Fixtures of the promotion tests: two Administrators (Alice requests, Bob approves), each with an API key,
a route live in every environment whose staging has changes to promote."""

import pytest

from core.audit import SYSTEM, Actor
from environments.services import api_key_create, environment_update
from routing.models import Route
from routing.services import route_create, route_override_update
from tests.api.conftest import Api
from tests.support.console import make_user


@pytest.fixture
def people(environments) -> dict:
    """alice and bob (Administrators), each with an administrator API key they created."""
    found = {}
    for name in ("alice", "bob"):
        user = make_user("administrator", username=name, password=None)
        _, raw = api_key_create(actor=Actor.for_user(user), name=f"{name} key", role="administrator")
        found[name] = {"user": user, "api": Api(raw)}
    # The evidence items need traffic and alert rules; these tests tick a short checklist instead.
    environment_update(
        actor=SYSTEM,
        environment=environments["production"],
        checklist=[{"key": "stakeholder_approval", "label": "Stakeholder approval received"}],
    )
    return found


@pytest.fixture
def orders(environments) -> Route:
    """A route whose staging runs a new timeout and header template; production and development inherit."""
    route = route_create(
        actor=SYSTEM,
        name="Orders",
        slug="orders",
        target_base_url="http://127.0.0.1:9/prod",
        timeout_ms=30000,
        inject_headers_json={"X-Version": "1"},
    )
    route_override_update(
        actor=SYSTEM,
        route=route,
        environment=environments["staging"],
        target_base_url="http://127.0.0.1:9/staging",
        timeout_ms=5000,
        inject_headers_json={"X-Version": "2"},
        rate_limit_enabled=True,
    )
    return Route.objects.get(pk=route.pk)
