"""/v1/logs (cursor feed), /v1/logs/{request_id}, /v1/routes/{id}/logs, /v1/audit-logs and analytics."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import RequestLog
from core.audit import SYSTEM
from routing.services import route_create


@pytest.fixture
def logs(environments):
    route = route_create(actor=SYSTEM, name="Orders", target_base_url="https://a.example.com")
    start = timezone.now() - timedelta(minutes=5)
    rows = [
        RequestLog(
            request_id=f"req-{n}",
            timestamp=start + timedelta(seconds=n),
            route_id=route.pk if n % 2 else None,
            route_slug="orders" if n % 2 else "",
            environment="staging" if n < 3 else "production",
            method="GET",
            path=f"/p/{n}",
            status=200 if n != 4 else 502,
            latency_ms=10.0 + n,
            secrets_used=["STRIPE_KEY"],
        )
        for n in range(7)
    ]
    RequestLog.objects.bulk_create(rows)
    return route


def test_it_serves_the_log_as_a_cursor_feed(viewer, logs):
    first = viewer.get("/v1/logs", limit=3).body
    assert [r["request_id"] for r in first["data"]] == ["req-0", "req-1", "req-2"]
    assert first["meta"]["delivery"] == "at_least_once" and first["meta"]["dedupe_on"] == "request_id"
    cursor = first["meta"]["next_cursor"]
    second = viewer.get("/v1/logs", limit=3, cursor=cursor).body
    third = viewer.get("/v1/logs", limit=3, cursor=second["meta"]["next_cursor"]).body
    assert [r["request_id"] for r in second["data"] + third["data"]] == [f"req-{n}" for n in range(3, 7)]
    assert third["meta"]["next_cursor"] is None  # drained for now
    again = viewer.get("/v1/logs", cursor=third["data"][-1]["cursor"]).body
    assert again["data"] == [] and again["meta"]["next_cursor"] is None


def test_it_filters_the_feed(viewer, logs):
    by_route = viewer.get("/v1/logs", route_id="orders").body["data"]
    assert [r["request_id"] for r in by_route] == ["req-1", "req-3", "req-5"]
    assert [r["request_id"] for r in viewer.get("/v1/logs", status_code=502).body["data"]] == ["req-4"]
    assert len(viewer.get("/v1/logs", environment="staging").body["data"]) == 3
    assert viewer.get("/v1/logs", cursor="garbage!").status_code == 400


def test_it_honours_since_and_until_on_the_feed(viewer, logs):
    rows = {r["request_id"]: r for r in viewer.get("/v1/logs").body["data"]}
    since, until = rows["req-2"]["ts"], rows["req-5"]["ts"]
    found = viewer.get("/v1/logs", since=since, until=until).body["data"]
    assert [r["request_id"] for r in found] == ["req-2", "req-3", "req-4"]  # until is exclusive
    refused = viewer.get("/v1/logs", since="yesterday")
    assert refused.status_code == 400 and "since" in refused.body["fields"]


def test_it_reads_the_feed_since_a_moment_whatever_order_rows_arrived_in(viewer, environments):
    # The feed's `since` starts at the id of a row called well before it; rows that arrive late (a batch
    # from another gateway process) or out of order within minutes are still found, and earlier ones are not.
    since = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    arrival = [("long-before", -600), ("just-after", 1), ("just-before-late", -1), ("after", 2)]
    arrival += [("late-by-a-minute", 60 - 1), ("a-minute-before-late", -61)]
    for name, offset in arrival:
        RequestLog.objects.create(
            request_id=name,
            timestamp=since + timedelta(seconds=offset),
            method="GET",
            path="/",
            status=200,
            latency_ms=1.0,
        )
    found = viewer.get("/v1/logs", since=since.isoformat()).body["data"]
    assert [r["request_id"] for r in found] == ["just-after", "after", "late-by-a-minute"]


def test_it_refuses_unknown_query_parameters_on_list_endpoints(viewer, logs):
    for path, misspelt in [("/v1/logs", "enviroment"), ("/v1/routes", "name"), ("/v1/audit-logs", "actor")]:
        answer = viewer.get(path, **{misspelt: "x"})
        assert answer.status_code == 400, path
        assert misspelt in answer.body["fields"]
    assert viewer.get("/v1/routes", page=1, per_page=5).status_code == 200


def test_it_answers_one_request_and_a_routes_logs(viewer, logs):
    row = viewer.get("/v1/logs/req-4").body["data"]
    assert (row["status_code"], row["error"], row["path"], row["secrets_used"]) == (
        502,
        "",
        "/p/4",
        ["STRIPE_KEY"],
    )
    assert viewer.get("/v1/logs/req-404").status_code == 404
    page = viewer.get(f"/v1/routes/{logs.pk}/logs", per_page=2).body
    assert [r["request_id"] for r in page["data"]] == ["req-5", "req-3"]  # newest first
    assert page["meta"]["total"] == 3 and page["meta"]["total_pages"] == 2


def test_it_lists_audit_entries_with_filters(admin):
    admin.post("/v1/routes", {"name": "Orders", "target_base_url": "https://a.example.com"})
    admin.put("/v1/routes/orders/environments/staging", {"timeout_ms": 900})
    entries = admin.get("/v1/audit-logs", resource_type="route").body["data"]
    assert [e["action"] for e in entries] == ["override", "create"]
    override = entries[0]
    assert override["actor"].startswith("api-key:administrator key")
    assert override["environment"] == "staging" and override["details"]["after"]["timeout_ms"] == 900
    assert admin.get("/v1/audit-logs", action="override").body["meta"]["total"] == 1


def test_it_answers_environment_metrics(viewer, logs):
    body = viewer.get("/v1/analytics/environments", window="15m", route="orders").body
    assert [item["environment"] for item in body["data"]] == ["production", "development", "staging"]
    assert body["meta"]["route"] == str(logs.pk) and body["meta"]["window"] == "15m"
    assert {"total", "error_rate", "p95_ms"} <= set(body["data"][0])
