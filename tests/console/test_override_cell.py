"""The Environment Overrides matrix through htmx: edit in place, validation in place, reset, refusals."""

from django.test import Client

from core.models import AuditEntry, ConfigVersion
from routing.models import RouteOverride
from tests.support.console import make_user, seed_world

HTMX = {"HTTP_HX_REQUEST": "true"}


def _client(role: str) -> Client:
    client = Client()
    client.force_login(make_user(role, password=None))
    return client


def _cell_url(route, environment: str, field: str) -> str:
    return f"/routes/{route.pk}/overrides/{environment}/{field}/"


def test_it_saves_a_cell_and_answers_with_the_overridden_cell(db):
    route = seed_world("http://127.0.0.1:9")["route"]
    version = ConfigVersion.objects.get().version
    response = _client("developer").post(
        _cell_url(route, "development", "timeout_ms"), {"timeout_ms-development-value": "5000"}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="cell-timeout_ms-development"' in html and 'data-state="overridden"' in html and "5000" in html
    assert "<html" not in html  # a fragment, not a page
    assert RouteOverride.objects.get(route=route, environment__name="development").timeout_ms == 5000
    assert ConfigVersion.objects.get().version > version
    entry = AuditEntry.objects.filter(action="override", environment="development").get()
    assert entry.actor_label == "developer" and entry.after["timeout_ms"] == 5000


def test_it_shows_validation_errors_in_the_cell_and_saves_nothing(db):
    route = seed_world("http://127.0.0.1:9")["route"]
    client = _client("administrator")
    response = client.post(
        _cell_url(route, "development", "timeout_ms"), {"timeout_ms-development-value": "5"}, **HTMX
    )
    assert response.status_code == 400
    assert 'data-state="editing"' in response.content.decode()
    assert "greater than or equal to 100" in response.content.decode()
    unsafe = client.post(
        _cell_url(route, "development", "target_base_url"),
        {"target_base_url-development-value": "http://169.254.169.254/latest"},
        **HTMX,
    )
    assert unsafe.status_code == 400 and "metadata address" in unsafe.content.decode()
    assert not RouteOverride.objects.filter(environment__name="development").exists()


def test_it_resets_a_cell_to_inherit(db):
    route = seed_world("http://127.0.0.1:9")["route"]
    response = _client("developer").post(_cell_url(route, "staging", "target_base_url") + "reset/", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-state="inherited"' in html and "inherits from base" in html
    assert "http://127.0.0.1:9/production" in html
    # Its only field reset, the staging override row is gone: staging now equals the base route.
    assert not RouteOverride.objects.filter(route=route, environment__name="staging").exists()


def test_it_refuses_a_developer_in_a_protected_environment_with_the_reason_in_the_cell(db):
    route = seed_world("http://127.0.0.1:9")["route"]
    response = _client("developer").post(
        _cell_url(route, "production", "timeout_ms"), {"timeout_ms-production-value": "5000"}, **HTMX
    )
    assert response.status_code == 403
    assert "production is protected: only an Administrator can change it." in response.content.decode()
    assert not RouteOverride.objects.filter(environment__name="production").exists()


def test_it_hides_edit_controls_from_viewers_and_protected_columns_from_developers(db):
    route = seed_world("http://127.0.0.1:9")["route"]
    viewer = _client("viewer").get(f"/routes/{route.pk}/overrides/").content.decode()
    assert "?edit=1" not in viewer and "Reset to inherit" not in viewer
    developer = _client("developer").get(f"/routes/{route.pk}/overrides/").content.decode()
    assert "/overrides/staging/timeout_ms/?edit=1" in developer
    assert "/overrides/production/timeout_ms/?edit=1" not in developer


def test_it_compares_two_environments_field_by_field(db):
    route = seed_world("http://127.0.0.1:9")["route"]
    client = _client("viewer")
    response = client.get(f"/routes/{route.pk}/overrides/?left=staging&right=production", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and 'id="compare"' in html
    assert "http://127.0.0.1:9/staging" in html and "http://127.0.0.1:9/production" in html
    assert "Timeout" not in html  # only the fields that differ
    same = client.get(f"/routes/{route.pk}/overrides/?left=development&right=production", **HTMX)
    assert "have the same effective configuration" in same.content.decode()


def test_it_works_without_javascript(db):
    route = seed_world("http://127.0.0.1:9")["route"]
    client = _client("administrator")
    form = client.get(_cell_url(route, "development", "timeout_ms") + "?edit=1")
    assert form.status_code == 200 and b"<html" in form.content
    saved = client.post(
        _cell_url(route, "development", "timeout_ms"), {"timeout_ms-development-value": "700"}
    )
    assert saved.status_code == 302
    assert saved["Location"] == f"/routes/{route.pk}/overrides/#cell-timeout_ms-development"
