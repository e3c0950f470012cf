"""/v1/secrets (metadata and value writes, never values) and /v1/clients (with route assignments)."""

from core.audit import SYSTEM
from routing.services import route_create


def test_it_creates_a_secret_with_a_first_value_and_sets_values_per_environment(developer):
    created = developer.post(
        "/v1/secrets",
        {
            "name": "STRIPE_KEY",
            "secret_type": "api_key",
            "value": "v-1",
            "environment": "staging",
            "description": "Stripe",
        },
    )
    assert created.status_code == 201
    data = created.body["data"]
    assert (data["shortcode_name"], data["secret_type"], data["environment_count"]) == (
        "{{secret:STRIPE_KEY}}",
        "api_key",  # stored and returned as sent (it read back as "string" before)
        1,
    )
    assert data["environments"][0]["environment_name"] == "staging"
    assert "value" not in data
    first = developer.put("/v1/secrets/STRIPE_KEY/value", {"value": "v-2", "environment": "development"})
    again = developer.put(f"/v1/secrets/{data['id']}/value", {"value": "v-3", "environment": "development"})
    assert (first.body["data"]["value_version"], again.body["data"]["value_version"]) == (1, 2)
    assert again.body["data"] == {
        "id": data["id"],
        "name": "STRIPE_KEY",
        "environment": "development",
        "value_version": 2,
    }


def test_it_defaults_to_the_default_environment_and_protects_it(developer, admin):
    refused = developer.post("/v1/secrets", {"name": "K", "secret_type": "api_key", "value": "v"})
    assert refused.status_code == 403  # production, the default, is protected
    assert admin.post("/v1/secrets", {"name": "K", "secret_type": "api_key", "value": "v"}).status_code == 201
    assert admin.get("/v1/secrets/K").body["data"]["environments"][0]["environment_name"] == "production"


def test_it_updates_renames_and_deletes_a_secret(admin):
    admin.post(
        "/v1/secrets", {"name": "OLD", "secret_type": "custom", "value": "v", "environment": "staging"}
    )
    renamed = admin.patch("/v1/secrets/OLD", {"name": "NEW", "strict_expiry_enforcement": True})
    assert (renamed.body["data"]["name"], renamed.body["data"]["strict_expiry_enforcement"]) == ("NEW", True)
    assert renamed.body["data"]["secret_type"] == "custom"
    retyped = admin.patch("/v1/secrets/NEW", {"secret_type": "oauth2_token"}).body["data"]
    assert (
        admin.get("/v1/secrets/NEW").body["data"]["secret_type"] == retyped["secret_type"] == "oauth2_token"
    )
    assert admin.get("/v1/secrets").body["meta"]["total"] == 1
    assert admin.delete("/v1/secrets/NEW").body["data"] == {"deleted": True}
    invalid = admin.post("/v1/secrets", {"name": "bad name", "secret_type": "x", "value": ""})
    assert set(invalid.body["fields"]) == {"secret_type", "value"}


def test_it_creates_a_client_with_route_assignments(developer):
    route_create(actor=SYSTEM, name="Orders", target_base_url="https://a.example.com")
    created = developer.post(
        "/v1/clients",
        {
            "name": "office",
            "ip_address": "10.1.2.0/24",
            "route_assignments": [
                {"route": "orders", "environment": "staging"},
                {"route": "orders", "environment": "development"},
            ],
        },
    )
    assert created.status_code == 201
    data = created.body["data"]
    assert {a["environment_name"] for a in data["route_assignments"]} == {"staging", "development"}
    assert data["route_assignments"][0]["route_slug"] == "orders"
    patched = developer.patch(
        f"/v1/clients/{data['id']}",
        {"route_assignments": [{"route": "orders", "environment": "staging"}], "description": "HQ"},
    )
    assert [a["environment_name"] for a in patched.body["data"]["route_assignments"]] == ["staging"]
    assert developer.get("/v1/clients").body["data"][0]["description"] == "HQ"
    credentials = developer.get("/v1/clients/office/credentials").body["data"]
    assert [(c["kind"], c["data"]) for c in credentials] == [("ip", {"ip_address": "10.1.2.0/24"})]
    assert developer.delete("/v1/clients/office").body["data"] == {"deleted": True}


def test_it_explains_invalid_clients(developer):
    bad_ip = developer.post("/v1/clients", {"name": "x", "ip_address": "10.0.0.300"})
    assert bad_ip.status_code == 400 and "ip_address" in bad_ip.body["fields"]
    protected = developer.post(
        "/v1/clients",
        {
            "name": "y",
            "ip_address": "10.0.0.1",
            "route_assignments": [{"route": "missing", "environment": "staging"}],
        },
    )
    assert protected.status_code == 404
    assert developer.get("/v1/clients/y").status_code == 404  # the whole write was undone


def test_it_adds_and_removes_one_assignment_without_resending_the_others(developer):
    route_create(actor=SYSTEM, name="Orders", target_base_url="https://a.example.com")
    created = developer.post(
        "/v1/clients",
        {
            "name": "ci",
            "ip_address": "10.9.0.0/16",
            "route_assignments": [{"route": "orders", "environment": "staging"}],
        },
    ).body["data"]
    assert {"route": "orders", "environment": "staging"}.items() <= created["route_assignments"][0].items()

    added = developer.post("/v1/clients/ci/assignments", {"route": "orders", "environment": "development"})
    assert added.status_code == 201
    assert (added.body["data"]["route"], added.body["data"]["environment"]) == ("orders", "development")
    again = developer.post("/v1/clients/ci/assignments", {"route": "orders", "environment": "development"})
    assert again.status_code == 200  # idempotent
    listed = developer.get("/v1/clients/ci/assignments").body["data"]
    assert [(a["route"], a["environment"]) for a in listed] == [
        ("orders", "development"),
        ("orders", "staging"),
    ]

    # What the endpoint returns is what it accepts: one listed assignment can be posted back as it is.
    round_trip = {key: listed[0][key] for key in ("route", "environment")}
    assert developer.post("/v1/clients/ci/assignments", round_trip).status_code == 200

    assert developer.delete("/v1/clients/ci/assignments/orders/staging").body["data"] == {"deleted": True}
    assert [a["environment"] for a in developer.get("/v1/clients/ci/assignments").body["data"]] == [
        "development"
    ]
    assert developer.delete("/v1/clients/ci/assignments/orders/staging").status_code == 404


def test_it_keeps_protected_assignments_for_administrators(developer):
    route_create(actor=SYSTEM, name="Orders", target_base_url="https://a.example.com")
    developer.post("/v1/clients", {"name": "ci", "ip_address": "10.9.0.1"})
    refused = developer.post("/v1/clients/ci/assignments", {"route": "orders", "environment": "production"})
    assert refused.status_code == 403
    assert developer.get("/v1/clients/ci/assignments").body["data"] == []
