"""One filter set per list: the console's Requests and Audit log pages and their /v1 endpoints filter with the
same definition (core.filters), so the same filter finds the same rows in both, and /v1 documents exactly the
parameters of its contract."""

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from analytics.filters import RequestLogFilterSet
from analytics.models import RequestLog
from core.audit import SYSTEM
from core.filters import AuditFilterSet
from routing.services import route_create, route_override_update
from tests.support.console import make_user


@pytest.fixture
def console(environments) -> Client:
    client = Client()
    client.force_login(make_user("viewer", password=None))
    return client


@pytest.fixture
def logs(environments):
    route = route_create(actor=SYSTEM, name="Orders", target_base_url="https://a.example.com")
    start = timezone.now() - timedelta(minutes=5)
    RequestLog.objects.bulk_create(
        RequestLog(
            request_id=f"req-{n}",
            timestamp=start + timedelta(seconds=n),
            route_id=route.pk if n % 2 else None,
            route_slug="orders" if n % 2 else "",
            environment="staging" if n < 3 else "production",
            method="POST" if n % 3 == 0 else "GET",
            path=f"/p/{n}",
            status=200,
            latency_ms=1.0,
        )
        for n in range(7)
    )
    return route


def _console_request_ids(console: Client, **query) -> set[str]:
    html = console.get("/analytics/requests/", query).content.decode()
    return set(re.findall(r"req-\d", html))


def _feed_request_ids(viewer, **query) -> set[str]:
    # Api.get takes parameters as keywords and `method` is its own, so the query goes in the path.
    answer = viewer.get(f"/v1/logs?{urlencode(query)}")
    return {row["request_id"] for row in answer.body["data"]}


@pytest.mark.parametrize(
    "filters",
    [{"environment": "staging"}, {"method": "POST"}, {"environment": "production", "method": "GET"}],
)
def test_the_requests_page_and_the_log_feed_find_the_same_rows(console, viewer, logs, filters):
    found = _feed_request_ids(viewer, **filters)
    assert found and found == _console_request_ids(console, **filters)


def test_a_route_filter_means_the_same_route_on_both(console, viewer, logs):
    by_feed = _feed_request_ids(viewer, route_id=str(logs.pk))
    assert by_feed == {"req-1", "req-3", "req-5"} == _console_request_ids(console, route=str(logs.pk))
    assert _feed_request_ids(viewer, route_id="orders") == by_feed  # /v1 also takes the slug


def test_the_log_feed_documents_the_contract_parameters_typed_by_the_filter_set(viewer):
    operation = viewer.get("/v1/openapi.json").json()["paths"]["/v1/logs"]["get"]
    parameters = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert set(parameters) == {
        "cursor",
        "limit",
        "route_id",
        "status_code",
        "environment",
        "method",
        "since",
        "until",
    }
    assert parameters["status_code"]["type"] == "integer"
    assert parameters["since"]["format"] == parameters["until"]["format"] == "date-time"


def test_the_log_feed_names_the_parameter_whose_value_does_not_clean(viewer, logs):
    refused = viewer.get("/v1/logs", status_code="abc", until="soon")
    assert refused.status_code == 400 and set(refused.body["fields"]) == {"status_code", "until"}
    assert viewer.get("/v1/logs", route_id="no-such-route").status_code == 404


def test_the_audit_page_and_the_audit_api_find_the_same_entries(console, admin, logs, environments):
    route_override_update(actor=SYSTEM, route=logs, environment=environments["staging"], timeout_ms=5000)
    for filters in ({"resource_type": "route"}, {"action": "override"}, {"environment": "staging"}):
        entries = AuditFilterSet(filters).entries()
        api = admin.get("/v1/audit-logs", per_page=100, **filters).body
        assert api["meta"]["total"] == entries.count() > 0
        assert {row["id"] for row in api["data"]} == {str(e.pk) for e in entries}
        html = console.get("/audit/", filters).content.decode()
        assert all(str(e.resource_name) in html for e in entries)
    assert AuditFilterSet({"action": "override"}).entries().count() == 1


def test_a_filter_set_ignores_filters_not_given_and_refuses_values_that_do_not_clean():
    assert RequestLogFilterSet({}).values() == {}
    assert RequestLogFilterSet({"method": "get", "environment": ""}).values() == {"method": "GET"}
    invalid = RequestLogFilterSet({"min_latency_ms": "-1"})
    assert not invalid.is_valid() and invalid.values() == {}
