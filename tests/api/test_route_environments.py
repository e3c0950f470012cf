"""PUT /v1/routes/{id}/environments/{env} replaces an override: fields left out (or null) inherit."""

import pytest

from core.audit import SYSTEM
from routing.models import RouteOverride
from routing.services import route_create


@pytest.fixture
def route(environments):
    return route_create(
        actor=SYSTEM, name="Orders", target_base_url="https://api.example.com", timeout_ms=30000
    )


def staging_of(api, ident: str) -> dict:
    items = api.get(f"/v1/routes/{ident}/environments").body["data"]
    return next(item for item in items if item["environment_name"] == "staging")


def test_it_replaces_the_whole_override_so_omitted_fields_inherit(admin, route):
    first = admin.put(
        "/v1/routes/orders/environments/staging", {"timeout_ms": 500, "rate_limit_enabled": True}
    )
    assert first.body["data"]["overridden_fields"] == ["rate_limit_enabled", "timeout_ms"]
    second = admin.put("/v1/routes/orders/environments/staging", {"rate_limit_enabled": True})
    data = second.body["data"]
    assert data["override"]["timeout_ms"] is None  # left out: NULL, inherit
    assert data["timeout_ms"] == 30000
    assert data["overridden_fields"] == ["rate_limit_enabled"]


def test_it_treats_null_as_inherit_and_an_all_null_override_as_none(admin, route):
    admin.put("/v1/routes/orders/environments/staging", {"timeout_ms": 500})
    data = admin.put("/v1/routes/orders/environments/staging", {"timeout_ms": None}).body["data"]
    assert data["has_override"] is False and data["overridden_fields"] == []
    assert not RouteOverride.objects.exists()


def test_it_lets_inheriting_environments_follow_the_base(admin, route):
    admin.put(
        f"/v1/routes/{route.pk}/environments/staging", {"target_base_url": "https://staging.example.com"}
    )
    admin.patch("/v1/routes/orders", {"target_base_url": "https://v2.example.com", "timeout_ms": 700})
    staging = staging_of(admin, str(route.pk))
    assert staging["target_base_url"] == "https://staging.example.com"  # overridden
    assert staging["timeout_ms"] == 700  # inherited, so it follows the base
    development = admin.get("/v1/routes/orders/environments/development").body["data"]
    assert development["target_base_url"] == "https://v2.example.com"


def test_it_deletes_an_override_and_counts_overrides(admin, route):
    admin.put("/v1/routes/orders/environments/staging", {"enabled": False})
    admin.put("/v1/routes/orders/environments/development", {"enabled": False})
    assert admin.get("/v1/routes/orders").body["data"]["environment_override_count"] == 2
    assert admin.delete("/v1/routes/orders/environments/staging").body["data"] == {"deleted": True}
    detail = admin.get("/v1/routes/orders").body["data"]
    assert detail["environment_override_count"] == 1
    assert detail["configured_environments"] == ["development"]
    assert staging_of(admin, "orders")["enabled"] is True


def test_it_validates_override_fields(admin, route):
    unknown = admin.put("/v1/routes/orders/environments/staging", {"intercept_enabled": True})
    assert unknown.status_code == 400
    assert unknown.body["fields"] == {"intercept_enabled": ["Unknown field."]}
    bad = admin.put("/v1/routes/orders/environments/staging", {"allowed_methods": ["FETCH"]})
    assert bad.status_code == 400 and "FETCH" in bad.body["error"]["message"]
    assert admin.put("/v1/routes/orders/environments/nowhere", {}).status_code == 404
    assert admin.put("/v1/routes/missing/environments/staging", {}).status_code == 404


def test_it_patches_one_field_and_keeps_the_other_overrides(admin, route):
    admin.put(
        "/v1/routes/orders/environments/staging",
        {"target_base_url": "https://staging.example.com", "timeout_ms": 500},
    )
    answer = admin.patch("/v1/routes/orders/environments/staging", {"rate_limit_enabled": True})
    assert answer.status_code == 200
    data = answer.body["data"]
    assert data["target_base_url"] == "https://staging.example.com"  # kept, not reset to the base
    assert data["timeout_ms"] == 500
    assert data["rate_limit_enabled"] is True
    assert data["overridden_fields"] == ["rate_limit_enabled", "target_base_url", "timeout_ms"]
    assert data["changed_fields"] == ["rate_limit_enabled"]


def test_it_resets_only_the_field_patched_to_null(admin, route):
    admin.put(
        "/v1/routes/orders/environments/staging",
        {"target_base_url": "https://staging.example.com", "timeout_ms": 500},
    )
    data = admin.patch("/v1/routes/orders/environments/staging", {"timeout_ms": None}).body["data"]
    assert data["timeout_ms"] == 30000  # inherits the base again
    assert data["override"]["target_base_url"] == "https://staging.example.com"
    assert data["changed_fields"] == ["timeout_ms"]


def test_it_patches_an_environment_without_an_override_and_reports_no_change_for_a_noop(admin, route):
    first = admin.patch("/v1/routes/orders/environments/development", {"enabled": False}).body["data"]
    assert first["has_override"] is True and first["changed_fields"] == ["enabled"]
    again = admin.patch("/v1/routes/orders/environments/development", {"enabled": False}).body["data"]
    assert again["changed_fields"] == []


def test_it_refuses_unknown_fields_in_a_patch(admin, route):
    answer = admin.patch("/v1/routes/orders/environments/staging", {"target": "https://x.example.com"})
    assert answer.status_code == 400
    assert "target" in answer.body["fields"]
