"""Roles of API keys, enforced by the same services as the console: 403 with a message that says why."""

from core.audit import SYSTEM
from routing.services import route_create


def test_it_lets_a_viewer_read_but_not_write(viewer):
    assert viewer.get("/v1/routes").status_code == 200
    response = viewer.post("/v1/routes", {"name": "x", "target_base_url": "https://api.example.com"})
    assert response.status_code == 403
    assert response.body == {
        "error": {
            "type": "forbidden",
            "message": "Viewers can look but not change anything.",
            "request_id": response["X-Request-Id"],
        },
        "status": 403,
    }
    assert viewer.post("/v1/environments", {"name": "qa"}).status_code == 403
    assert viewer.post("/v1/clients", {"name": "c", "ip_address": "10.0.0.1"}).status_code == 403
    assert (
        viewer.post("/v1/secrets", {"name": "S", "secret_type": "api_key", "value": "v"}).status_code == 403
    )


def test_it_keeps_developers_out_of_protected_environments(developer):
    route = route_create(actor=SYSTEM, name="Pay", target_base_url="https://api.example.com")
    assert (
        developer.put(f"/v1/routes/{route.slug}/environments/staging", {"timeout_ms": 900}).status_code == 200
    )
    response = developer.put(f"/v1/routes/{route.slug}/environments/production", {"timeout_ms": 900})
    assert response.status_code == 403
    assert "production is protected" in response.body["error"]["message"]
    assert developer.delete(f"/v1/routes/{route.slug}").status_code == 403  # production inherits the base


def test_it_lets_only_administrators_manage_api_keys(developer, admin):
    assert developer.post("/v1/api-keys", {"name": "ci", "role": "viewer"}).status_code == 403
    created = admin.post("/v1/api-keys", {"name": "ci", "role": "developer"})
    assert created.status_code == 201
    assert created.body["data"]["api_key"].startswith("tk_live_")
    key_id = created.body["data"]["id"]
    assert developer.delete(f"/v1/api-keys/{key_id}").status_code == 403
    assert admin.delete(f"/v1/api-keys/{key_id}").body["data"] == {"revoked": True}
    assert "api_key" not in admin.get(f"/v1/api-keys/{key_id}").body["data"]
    assert admin.get(f"/v1/api-keys/{key_id}").body["data"]["active"] is False


# --- Every write that reaches a protected environment needs an Administrator -----------------


def test_it_refuses_a_developer_renaming_a_route_live_in_production(developer):
    """Callers select a route by its name too: renaming one that production serves changes production."""
    route_create(actor=SYSTEM, name="Pay", target_base_url="https://api.example.com")
    renamed = developer.patch("/v1/routes/pay", {"name": "Pay v2"})
    assert renamed.status_code == 403
    assert renamed.body["error"]["message"].startswith("production is protected: only an Administrator")
    assert "live there" in renamed.body["error"]["message"]
    # Words that production does not serve, and values sent unchanged, reach nothing.
    assert developer.patch("/v1/routes/pay", {"description": "Payments"}).status_code == 200
    same = {"target_base_url": "https://api.example.com/", "timeout_ms": 30000}
    assert developer.patch("/v1/routes/pay", same).status_code == 200
    assert developer.patch("/v1/routes/pay", {"timeout_ms": 900}).status_code == 403


def test_it_lets_a_developer_work_on_a_route_disabled_in_production_but_not_enable_it_there(developer, admin):
    created = developer.post("/v1/routes", {"name": "Draft", "target_base_url": "https://a.example.com"})
    assert created.status_code == 201
    production = developer.get("/v1/routes/draft/environments/production").body["data"]
    assert (production["enabled"], production["override"]["enabled"]) == (False, False)
    changes = {"name": "Draft 2", "target_base_url": "https://b.example.com", "enabled": False}
    assert developer.patch("/v1/routes/draft", changes).status_code == 200
    assert developer.put("/v1/routes/draft/environments/staging", {"timeout_ms": 900}).status_code == 200
    assert developer.put("/v1/routes/draft/environments/production", {"enabled": True}).status_code == 403
    assert developer.delete("/v1/routes/draft/environments/production").status_code == 403
    # An Administrator's call: production inherits the base from now on.
    assert admin.delete("/v1/routes/draft/environments/production").status_code == 200
    assert developer.patch("/v1/routes/draft", {"enabled": True}).status_code == 403


def test_it_lets_a_developer_delete_a_route_only_when_production_has_nothing_of_it(developer, admin):
    from environments.models import Client, Environment
    from routing.models import Route
    from routing.services import route_client_assign

    for name in ("Mine", "Tuned", "Assigned"):
        created = developer.post("/v1/routes", {"name": name, "target_base_url": "https://a.example.com"})
        assert created.status_code == 201
    tuned = {"enabled": False, "timeout_ms": 900}
    assert admin.put("/v1/routes/tuned/environments/production", tuned).status_code == 200
    production = Environment.objects.get(name="production")
    client = Client.objects.create(name="dc", ip_address="198.51.100.0/24")
    route_client_assign(
        actor=SYSTEM, route=Route.objects.get(slug="assigned"), environment=production, client=client
    )
    assert developer.delete("/v1/routes/mine").status_code == 200
    for slug in ("tuned", "assigned"):  # disabled in production, but holding an Administrator's settings
        refused = developer.delete(f"/v1/routes/{slug}")
        assert refused.status_code == 403 and "holds settings made there" in refused.body["error"]["message"]


def test_it_keeps_protection_and_the_default_environment_for_administrators(developer):
    assert developer.patch("/v1/environments/staging", {"description": "QA"}).status_code == 200
    assert developer.patch("/v1/environments/staging", {"is_protected": True}).status_code == 403
    assert developer.patch("/v1/environments/staging", {"is_default": True}).status_code == 403
    assert developer.patch("/v1/environments/production", {"is_protected": False}).status_code == 403
    assert developer.post("/v1/environments", {"name": "qa", "is_protected": True}).status_code == 403
    assert developer.post("/v1/api-keys", {"name": "x", "role": "administrator"}).status_code == 403


def test_it_refuses_a_developer_editing_a_client_that_production_lets_in(developer):
    from environments.models import Environment
    from environments.services import client_create
    from routing.services import route_client_assign

    route = route_create(actor=SYSTEM, name="Pay", target_base_url="https://api.example.com")
    client = client_create(actor=SYSTEM, name="dc", ip_address="198.51.100.0/24")
    route_client_assign(
        actor=SYSTEM, route=route, environment=Environment.objects.get(name="production"), client=client
    )
    widened = developer.patch(f"/v1/clients/{client.pk}", {"ip_address": "0.0.0.0/0"})
    assert widened.status_code == 403 and "production is protected" in widened.body["error"]["message"]
    assert developer.delete(f"/v1/clients/{client.pk}").status_code == 403
