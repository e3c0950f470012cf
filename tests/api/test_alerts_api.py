"""/v1/alert-rules through alerts.services and /v1/alert-incidents (read-only)."""

from django.utils import timezone

from alerts.models import AlertIncident, AlertRule


def test_it_creates_updates_and_deletes_an_alert_rule(developer):
    developer.post("/v1/routes", {"name": "Orders", "target_base_url": "https://a.example.com"})
    created = developer.post(
        "/v1/alert-rules",
        {
            "name": "Staging errors",
            "type": "error_rate",
            "threshold": 5,
            "environments": ["staging"],
            "route": "orders",
        },
    )
    assert created.status_code == 201
    data = created.body["data"]
    assert (data["route"], data["environments"], data["direction"]) == ("orders", ["staging"], "above")
    patched = developer.patch(f"/v1/alert-rules/{data['id']}", {"threshold": 9.5, "enabled": False})
    assert (patched.body["data"]["threshold"], patched.body["data"]["enabled"]) == (9.5, False)
    assert developer.get("/v1/alert-rules").body["meta"]["total"] == 1
    assert developer.delete(f"/v1/alert-rules/{data['id']}").body["data"] == {"deleted": True}


def test_it_keeps_developers_off_rules_covering_production(developer):
    everywhere = developer.post("/v1/alert-rules", {"name": "All", "type": "latency", "threshold": 500})
    assert everywhere.status_code == 403
    invalid = developer.post(
        "/v1/alert-rules",
        {"name": "x", "type": "request_failures", "threshold": 1, "environments": ["staging"]},
    )
    assert invalid.status_code == 400 and "status_codes" in invalid.body["fields"]


def test_it_lists_incidents(admin, environments):
    rule = AlertRule.objects.create(name="r", type="error_rate", threshold=1)
    incident = AlertIncident.objects.create(
        rule=rule,
        environment=environments["staging"],
        environment_name="staging",
        observed_value=12.0,
        threshold=1.0,
        opened_at=timezone.now(),
    )
    listed = admin.get("/v1/alert-incidents", status="open").body
    assert [i["id"] for i in listed["data"]] == [str(incident.pk)]
    assert listed["data"][0]["rule_name"] == "r" and listed["data"][0]["is_open"] is True
    assert admin.get("/v1/alert-incidents", status="resolved").body["data"] == []
    assert admin.get(f"/v1/alert-incidents/{incident.pk}").body["data"]["environment"] == "staging"
    assert admin.get("/v1/alert-incidents/not-a-uuid").status_code == 404
