"""/v1/routes: KnoxCall's field names, UUID or slug ids, validation through the routing services."""

ROUTE_KEYS = {
    "id",
    "name",
    "slug",
    "description",
    "residency_locked",
    "target_base_url",
    "base_environment",
    "enabled",
    "requires_clients",
    "allowed_methods",
    "timeout_ms",
    "inject_headers_json",
    "inject_body_json",
    "rate_limit_enabled",
    "rate_limit_requests",
    "rate_limit_window_sec",
    "rate_limit_burst",
    "environment_override_count",
    "created_at",
    "updated_at",
}


def test_it_creates_a_route_with_knoxcall_fields(developer):
    response = developer.post(
        "/v1/routes",
        {
            "name": "Stripe Charges",
            "target_base_url": "https://api.stripe.com/v1/",
            "allowed_methods": ["post", "GET"],
            "rate_limit_enabled": True,
            "rate_limit_requests": 10,
            "rate_limit_window_sec": 60,
            "inject_headers_json": {"X-Team": "payments"},
        },
    )
    assert response.status_code == 201
    data = response.body["data"]
    assert set(data) == ROUTE_KEYS | {"configured_environments"}
    assert (data["slug"], data["target_base_url"]) == ("stripe-charges", "https://api.stripe.com/v1")
    assert data["allowed_methods"] == ["GET", "POST"]
    # A Developer's route is created disabled in the protected production: one override, enabled=False.
    assert data["base_environment"] == "production" and data["environment_override_count"] == 1
    assert data["configured_environments"] == ["production"]
    assert "It is disabled in production" in response.body["meta"]["notice"]


def test_it_finds_a_route_by_uuid_or_slug_and_lists_it(viewer, admin):
    route_id = admin.post("/v1/routes", {"name": "Orders", "target_base_url": "https://a.example.com"}).body[
        "data"
    ]["id"]
    assert viewer.get(f"/v1/routes/{route_id}").body["data"]["slug"] == "orders"
    assert viewer.get("/v1/routes/orders").body["data"]["id"] == route_id
    listed = viewer.get("/v1/routes").body["data"]
    assert [set(r) for r in listed] == [ROUTE_KEYS]
    missing = viewer.get("/v1/routes/nope")
    assert missing.body == {
        "error": {"type": "not_found", "message": "No route 'nope'.", "request_id": missing["X-Request-Id"]},
        "status": 404,
    }


def test_it_updates_and_deletes_a_route(admin):
    admin.post("/v1/routes", {"name": "Orders", "target_base_url": "https://a.example.com"})
    patched = admin.patch("/v1/routes/orders", {"enabled": False, "description": "paused"})
    assert (patched.body["data"]["enabled"], patched.body["data"]["description"]) == (False, "paused")
    slug_change = admin.patch("/v1/routes/orders", {"slug": "other"})
    assert slug_change.status_code == 400 and "slug" in slug_change.body["fields"]
    assert admin.delete("/v1/routes/orders").body["data"] == {"deleted": True}
    assert admin.get("/v1/routes/orders").status_code == 404


def test_it_explains_invalid_routes(admin):
    missing = admin.post("/v1/routes", {"name": "x"})
    assert missing.body["fields"] == {"target_base_url": ["This field is required."]}
    unsafe = admin.post("/v1/routes", {"name": "x", "target_base_url": "http://169.254.169.254/latest"})
    assert unsafe.status_code == 400 and "target_base_url" in unsafe.body["fields"]
    secret = admin.post(
        "/v1/routes",
        {
            "name": "x",
            "target_base_url": "https://a.example.com",
            "inject_headers_json": {"Authorization": "{{secret:NOPE}}"},
        },
    )
    assert secret.status_code == 400 and "NOPE" in secret.body["error"]["message"]
    admin.post("/v1/routes", {"name": "Orders", "target_base_url": "https://a.example.com"})
    duplicate = admin.post("/v1/routes", {"name": "Orders", "target_base_url": "https://a.example.com"})
    assert duplicate.status_code == 400 and "name" in duplicate.body["fields"]
