"""/v1/promotions end to end: plan, pinning, four eyes, digest-bound approval, checklist, break-glass."""

from core.audit import SYSTEM, Actor
from core.models import AuditEntry
from deployments.models import Deployment
from deployments.services import deployment_rollback
from environments.models import Environment
from routing.models import Route, RouteOverride
from routing.selectors import effective_for
from routing.services import route_override_update


def _propose(api, **body):
    body = {"source": "staging", "target": "production", "title": "Faster orders", **body}
    response = api.post("/v1/promotions", body)
    assert response.status_code == 201, response.body
    return response.body["data"]


def _tick(api, promotion):
    response = api.patch(
        f"/v1/promotions/{promotion['id']}/checklist", {"items": {"stakeholder_approval": True}}
    )
    assert response.status_code == 200, response.body
    return response.body["data"]


def _served(route, name):
    return dict(effective_for(Route.objects.get(pk=route.pk), Environment.objects.get(name=name)).values)


def test_it_plans_behaviour_changes_and_shows_environment_ones_as_expected(people, orders):
    promotion = _propose(people["alice"]["api"])
    [route] = promotion["plan"]["routes"]
    assert {c["field"] for c in route["will_change"]} == {"timeout_ms", "inject_headers_json"}
    assert {c["field"] for c in route["expected_differences"]} == {"target_base_url", "rate_limit_enabled"}
    # production is the default environment: base writes, pinned in development (which inherits them).
    assert route["writes"]["base"] == {"timeout_ms": 5000, "inject_headers_json": {"X-Version": "2"}}
    pinned = {(p["environment"], p["field"]): p["value"] for p in route["pinned"]}
    assert pinned == {
        ("development", "timeout_ms"): 30000,
        ("development", "inject_headers_json"): {"X-Version": "1"},
    }
    assert promotion["status"] == "pending" and promotion["required_approvals"] == 1


def test_a_second_administrators_approval_applies_it_and_only_production_changes(people, orders):
    alice, bob = people["alice"]["api"], people["bob"]["api"]
    development_before = _served(orders, "development")
    staging = _served(orders, "staging")
    promotion = _tick(alice, _propose(alice))
    path = f"/v1/promotions/{promotion['id']}"

    early = alice.post(path + "/apply")
    assert early.status_code == 409 and early.body["error"]["type"] == "approval_required"
    assert _served(orders, "production")["timeout_ms"] == 30000

    assert bob.post(path + "/approve").body["data"]["status"] == "approved"
    applied = alice.post(path + "/apply")
    assert applied.status_code == 200, applied.body
    assert applied.body["data"]["status"] == "applied"

    production = _served(orders, "production")
    for field in ("timeout_ms", "inject_headers_json", "allowed_methods", "enabled"):
        assert production[field] == staging[field]
    assert production["target_base_url"] == "http://127.0.0.1:9/prod"  # expected difference kept
    assert _served(orders, "development") == development_before  # pinned
    assert AuditEntry.objects.filter(resource_type="promotion", action="promotion.apply").count() == 1


def test_self_approval_is_forbidden_by_user_and_by_their_own_api_key(people, orders, client):
    alice = people["alice"]
    promotion = _propose(alice["api"])
    own_key = alice["api"].post(f"/v1/promotions/{promotion['id']}/approve")
    assert own_key.status_code == 403
    assert own_key.body["error"]["type"] == "self_approval_forbidden"
    client.force_login(alice["user"])
    same_user = client.post(f"/v1/promotions/{promotion['id']}/approve", {}, content_type="application/json")
    assert same_user.status_code == 403
    assert same_user.json()["error"]["type"] == "self_approval_forbidden"


def test_a_change_to_staging_after_approval_answers_plan_changed_and_writes_nothing(
    people, orders, environments
):
    alice, bob = people["alice"]["api"], people["bob"]["api"]
    promotion = _tick(alice, _propose(alice))
    path = f"/v1/promotions/{promotion['id']}"
    assert bob.post(path + "/approve").status_code == 200
    route_override_update(actor=SYSTEM, route=orders, environment=environments["staging"], timeout_ms=4000)
    production_before = _served(orders, "production")
    overrides_before = list(RouteOverride.objects.order_by("pk").values())

    response = alice.post(path + "/apply")
    assert response.status_code == 409 and response.body["error"]["type"] == "plan_changed"
    assert _served(orders, "production") == production_before
    assert list(RouteOverride.objects.order_by("pk").values()) == overrides_before
    assert alice.get(path).body["data"]["plan_current"] is False


def test_an_incomplete_checklist_answers_checklist_incomplete(people, orders):
    alice, bob = people["alice"]["api"], people["bob"]["api"]
    promotion = _propose(alice)
    path = f"/v1/promotions/{promotion['id']}"
    bob.post(path + "/approve")
    response = alice.post(path + "/apply")
    assert response.status_code == 409 and response.body["error"]["type"] == "checklist_incomplete"
    [item] = _tick(alice, promotion)["checklist"]
    assert item["done"] and item["by"].startswith("api-key:alice key")


def test_any_rejection_rejects(people, orders):
    alice, bob = people["alice"]["api"], people["bob"]["api"]
    promotion = _propose(alice)
    path = f"/v1/promotions/{promotion['id']}"
    assert bob.post(path + "/reject", {"comment": "not today"}).body["data"]["status"] == "rejected"
    assert alice.post(path + "/apply").status_code == 409
    assert bob.post(path + "/approve").status_code == 409


def test_break_glass_applies_without_approval_with_a_reason_and_is_audited(people, orders):
    alice = people["alice"]["api"]
    promotion = _propose(alice)
    response = alice.post(f"/v1/promotions/{promotion['id']}/apply", {"break_glass_reason": "outage"})
    assert response.status_code == 200, response.body
    assert response.body["data"]["break_glass_reason"] == "outage"
    assert _served(orders, "production")["timeout_ms"] == 5000
    entry = AuditEntry.objects.get(resource_type="promotion", action="promotion.bypass")
    assert entry.after["reason"] == "outage"


def test_a_non_protected_target_needs_no_approval(people, orders):
    alice = people["alice"]["api"]
    promotion = _propose(alice, target="development")
    assert promotion["required_approvals"] == 0
    response = alice.post(f"/v1/promotions/{promotion['id']}/apply")
    assert response.status_code == 200, response.body
    assert _served(orders, "development")["timeout_ms"] == 5000
    assert _served(orders, "production")["timeout_ms"] == 30000


def test_a_change_to_the_target_after_approval_also_answers_plan_changed(people, orders, environments):
    alice, bob = people["alice"]["api"], people["bob"]["api"]
    promotion = _tick(alice, _propose(alice))
    path = f"/v1/promotions/{promotion['id']}"
    assert bob.post(path + "/approve").status_code == 200
    route_override_update(
        actor=SYSTEM, route=orders, environment=environments["production"], allowed_methods=["GET"]
    )
    production_before = _served(orders, "production")
    response = alice.post(path + "/apply")
    assert response.status_code == 409 and response.body["error"]["type"] == "plan_changed"
    assert _served(orders, "production") == production_before


def test_two_required_approvals_take_two_people_not_one_person_twice(people, orders, environments, client):
    from environments.services import api_key_create, environment_update
    from tests.api.conftest import Api
    from tests.support.console import make_user

    environment_update(actor=SYSTEM, environment=environments["production"], required_approvals=2)
    alice, bob = people["alice"]["api"], people["bob"]["api"]
    promotion = _tick(alice, _propose(alice))
    assert promotion["required_approvals"] == 2
    path = f"/v1/promotions/{promotion['id']}"
    assert bob.post(path + "/approve").body["data"]["status"] == "pending"
    client.force_login(people["bob"]["user"])  # Bob again, signed in rather than by his key: one person
    assert client.post(path + "/approve", {}, content_type="application/json").status_code == 200
    assert alice.post(path + "/apply").body["error"]["type"] == "approval_required"

    carol = make_user("administrator", username="carol", password=None)
    _, raw = api_key_create(actor=Actor.for_user(carol), name="carol key", role="administrator")
    assert Api(raw).post(path + "/approve").body["data"]["status"] == "approved"
    assert alice.post(path + "/apply").status_code == 200


def test_every_step_is_audited(people, orders):
    alice, bob = people["alice"]["api"], people["bob"]["api"]
    promotion = _tick(alice, _propose(alice))
    path = f"/v1/promotions/{promotion['id']}"
    bob.post(path + "/approve", {"comment": "looks right"})
    alice.post(path + "/apply")
    deployment = Deployment.objects.get(promotion_id=promotion["id"])
    deployment_rollback(actor=SYSTEM, deployment=deployment, reason="errors")
    steps = list(
        AuditEntry.objects.filter(resource_type__in=["promotion", "deployment"])
        .order_by("timestamp")
        .values_list("action", flat=True)
    )
    assert steps == [
        "promotion.request",
        "promotion.checklist",
        "promotion.approve",
        "promotion.apply",
        "deployment.rollback",
    ]
    assert AuditEntry.objects.filter(resource_type="route", action="rollback").count() == 1
