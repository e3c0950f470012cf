"""An environment that takes changes only by promotion refuses direct writes with 409 approval_required;
the promotion's own apply passes (core.permissions.approved_change)."""

from core.audit import SYSTEM
from environments.services import environment_update
from routing.models import Route
from routing.selectors import effective_for


def _gate(environments):
    environment_update(actor=SYSTEM, environment=environments["production"], changes_require_approval=True)


def test_direct_writes_to_a_gated_environment_answer_approval_required(people, orders, environments):
    _gate(environments)
    alice = people["alice"]["api"]
    override = alice.patch("/v1/routes/orders/environments/production", {"timeout_ms": 1000})
    assert override.status_code == 409
    assert override.body["error"]["type"] == "approval_required"
    assert "/v1/promotions" in override.body["error"]["message"]
    # A base write that production inherits reaches it too; staging alone does not.
    assert alice.patch("/v1/routes/orders", {"allowed_methods": ["GET"]}).status_code == 409
    assert alice.patch("/v1/routes/orders/environments/staging", {"timeout_ms": 1000}).status_code == 200
    production = effective_for(Route.objects.get(slug="orders"), environments["production"])
    assert production["timeout_ms"] == 30000 and production["allowed_methods"] == []


def test_an_approved_promotion_still_writes_to_a_gated_environment(people, orders, environments):
    _gate(environments)
    alice, bob = people["alice"]["api"], people["bob"]["api"]
    body = {"source": "staging", "target": "production", "title": "Gated"}
    promotion = alice.post("/v1/promotions", body).body["data"]
    path = f"/v1/promotions/{promotion['id']}"
    alice.patch(path + "/checklist", {"items": {"stakeholder_approval": True}})
    bob.post(path + "/approve")
    assert alice.post(path + "/apply").status_code == 200
    assert effective_for(Route.objects.get(slug="orders"), environments["production"])["timeout_ms"] == 5000


def test_it_is_off_by_default(people, orders):
    response = people["alice"]["api"].patch("/v1/routes/orders/environments/production", {"timeout_ms": 1000})
    assert response.status_code == 200, response.body


def test_an_administrator_sets_an_environments_approval_settings_through_the_api(people):
    from environments.services import api_key_create
    from tests.api.conftest import Api

    alice, developer = (
        people["alice"]["api"],
        Api(api_key_create(actor=SYSTEM, name="d", role="developer")[1]),
    )
    checklist = [
        {"key": "on_call", "label": "On-call engineer identified"},
        {"key": "monitoring", "label": "Monitoring ready", "evidence": "monitoring_ready"},
    ]
    body = {"changes_require_approval": True, "required_approvals": 2, "checklist": checklist}
    response = alice.patch("/v1/environments/production", body)
    assert response.status_code == 200, response.body
    assert response.body["data"]["required_approvals"] == 2
    assert response.body["data"]["checklist"] == checklist
    assert developer.patch("/v1/environments/staging", {"required_approvals": 0}).status_code == 403
    bad = alice.patch(
        "/v1/environments/staging", {"checklist": [{"key": "x", "label": "X", "evidence": "vibes"}]}
    )
    assert bad.status_code == 400
