import re

from django.test import Client

from core.audit import SYSTEM
from routing.models import Route
from routing.services import route_create
from tests.support.console import make_user, seed_world


def _client(role: str = "administrator") -> Client:
    client = Client()
    client.force_login(make_user(role, password=None))
    return client


def test_it_filters_routes_by_search_enabled_and_overrides(db):
    seed_world("http://127.0.0.1:9")
    route_create(
        actor=SYSTEM,
        name="Payments",
        slug="payments",
        target_base_url="http://127.0.0.1:9/pay",
        enabled=False,
    )
    client = _client("viewer")

    def names(query: str) -> list[str]:
        return [r.name for r in client.get(f"/routes/?{query}").context["routes"]]

    assert names("") == ["Demo", "Payments"]
    assert names("q=pay") == ["Payments"]
    assert names("enabled=no") == ["Payments"]
    assert names("overrides=with") == ["Demo"]
    assert names("overrides=without") == ["Payments"]
    fragment = client.get("/routes/?q=demo", HTTP_HX_REQUEST="true").content.decode()
    assert '<div id="route-results"' in fragment and "<html" not in fragment


def test_it_duplicates_a_route_with_its_overrides(db):
    route = seed_world("http://127.0.0.1:9")["route"]
    response = _client().post(f"/routes/{route.pk}/duplicate/")
    copy = Route.objects.get(name="Demo (copy)")
    assert response["Location"] == f"/routes/{copy.pk}/"
    assert copy.slug != route.slug
    assert copy.overrides.get(environment__name="staging").target_base_url == "http://127.0.0.1:9/staging"


def test_it_disables_and_deletes_a_route(db):
    route = seed_world("http://127.0.0.1:9")["route"]
    client = _client()
    client.post(f"/routes/{route.pk}/toggle/")
    route.refresh_from_db()
    assert route.enabled is False
    assert client.post(f"/routes/{route.pk}/delete/")["Location"] == "/routes/"
    assert not Route.objects.filter(pk=route.pk).exists()


def test_it_shows_a_validation_error_on_the_route_form(db):
    seed_world("http://127.0.0.1:9")
    response = _client("developer").post(
        "/routes/new/",
        {
            "name": "Bad",
            "target_base_url": "ftp://example.com",
            "timeout_ms": "1000",
            "rate_limit_requests": "1",
            "rate_limit_window_sec": "1",
            "rate_limit_burst": "0",
            "inject_headers_json": "{}",
            "inject_body_json": "{}",
        },
    )
    assert response.status_code == 400
    assert not Route.objects.filter(name="Bad").exists()


def test_it_shows_the_routes_history(db):
    route = seed_world("http://127.0.0.1:9")["route"]
    html = _client("viewer").get(f"/routes/{route.pk}/history/").content.decode()
    assert "override" in html and "http://127.0.0.1:9/staging" in html


def test_it_refuses_a_timeout_below_100_ms_in_the_form_as_the_server_does(db):
    route = seed_world("http://127.0.0.1:9")["route"]
    client = _client()
    # The browser is told the bounds (number inputs with min and max) on the route form and in a cell.
    page = client.get("/routes/new/").content.decode()
    assert re.search(r'<input type="number" name="timeout_ms" value="30000" min="100" max="600000"', page)
    cell = client.get(f"/routes/{route.pk}/overrides/development/timeout_ms/?edit=1").content.decode()
    assert re.search(r'name="timeout_ms-development-value"[^>]* min="100" max="600000"', cell)
    # And the form itself refuses, on the field, before any service is called.
    response = client.post(
        "/routes/new/",
        {
            "name": "Slow",
            "target_base_url": "https://api.example.com",
            "timeout_ms": "50",
            "rate_limit_requests": "100",
            "rate_limit_window_sec": "60",
            "rate_limit_burst": "0",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["timeout_ms"] == ["Ensure this value is greater than or equal to 100."]
    assert not Route.objects.filter(name="Slow").exists()
