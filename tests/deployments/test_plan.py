"""deployments.plan is pure: promotion plans over route documents, with no database."""

import pytest

from deployments.plan import apply_writes, promotion_plan, served

ENVIRONMENTS = ["production", "staging", "development", "qa"]


def doc(**overrides) -> dict:
    base = {
        "target_base_url": "https://api.example.com",
        "enabled": True,
        "allowed_methods": [],
        "timeout_ms": 30000,
        "requires_clients": True,
        "inject_headers_json": {},
        "inject_body_json": {},
        "rate_limit_enabled": False,
        "rate_limit_requests": 100,
        "rate_limit_window_sec": 60,
        "rate_limit_burst": 0,
    }
    return {
        "id": "r1",
        "slug": "orders",
        "name": "Orders",
        "base": base,
        "overrides": overrides,
        "clients": {},
    }


def plan(docs, **kwargs):
    options = {
        "source": "staging",
        "target": "production",
        "default": "production",
        "environments": ENVIRONMENTS,
    } | kwargs
    return promotion_plan(docs, **options)


def test_into_the_default_environment_it_writes_base_values_and_pins_every_inheritor():
    route = doc(staging={"timeout_ms": 5000}, qa={"timeout_ms": 100})
    [routed] = plan([route]).routes
    assert routed.writes["base"] == {"timeout_ms": 5000}
    # development inherits the base, so it is pinned; qa has its own value; staging already has 5000.
    assert {(p.environment, p.field, p.value) for p in routed.pins} == {("development", "timeout_ms", 30000)}
    after = apply_writes(route, routed.writes)
    assert served(after, "production") == served(route, "staging") | {
        "target_base_url": "https://api.example.com"
    }
    for name in ("staging", "development", "qa"):
        assert served(after, name) == served(route, name)


def test_into_another_environment_it_writes_that_environments_override_only():
    route = doc(staging={"timeout_ms": 5000})
    [routed] = plan([route], target="development").routes
    assert routed.writes == {
        "base": {},
        "overrides": {"development": {"timeout_ms": 5000}},
        "clients": {"assign": [], "unassign": []},
    }
    assert routed.pins == ()


def test_it_inherits_like_the_source_when_the_source_inherits():
    route = doc(development={"timeout_ms": 10})
    [routed] = plan([route], target="development").routes
    assert routed.writes["overrides"] == {"development": {"timeout_ms": None}}


def test_environment_specific_fields_are_expected_differences_unless_chosen():
    route = doc(staging={"target_base_url": "https://staging.example.com", "rate_limit_enabled": True})
    assert plan([route]).routes == ()  # nothing a default promotion would change
    [routed] = plan([route], route_ids=["r1"]).routes
    assert {c.field for c in routed.expected_differences} == {"target_base_url", "rate_limit_enabled"}
    assert routed.will_change == []
    [chosen] = plan([route], fields=["target_base_url"]).routes
    assert chosen.writes["base"] == {"target_base_url": "https://staging.example.com"}


def test_client_assignments_are_copied_only_when_chosen():
    route = doc() | {"clients": {"staging": ["a", "b"], "production": ["b", "c"]}}
    [routed] = plan([route], fields=["clients"]).routes
    assert routed.writes["clients"] == {"assign": ["a"], "unassign": ["c"]}
    assert apply_writes(route, routed.writes, "production")["clients"]["production"] == ["a", "b"]


def test_the_digest_moves_when_either_environment_moves():
    route = doc(staging={"timeout_ms": 5000})
    digest = plan([route]).digest
    assert plan([doc(staging={"timeout_ms": 5000})]).digest == digest
    assert plan([doc(staging={"timeout_ms": 5000, "rate_limit_burst": 3})]).digest != digest
    assert plan([doc(staging={"timeout_ms": 5000}, production={"rate_limit_burst": 3})]).digest != digest


def test_source_and_target_must_differ():
    with pytest.raises(ValueError):
        plan([doc()], target="staging")
