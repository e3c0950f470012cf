"""Roles of API keys, enforced by the same services as the console: 403 with a message that says why."""

from environments.audit import SYSTEM
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
