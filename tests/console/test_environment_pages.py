from django.test import Client

from environments.models import AuditEntry, Environment
from routing.models import RouteOverride
from tests.support.console import make_user, seed_world


def _admin() -> Client:
    client = Client()
    client.force_login(make_user("administrator", password=None))
    return client


def test_it_lists_colour_default_protected_and_expiry(db):
    seed_world("http://127.0.0.1:9")
    client = _admin()
    client.post("/environments/new/", {"name": "feature-x", "color": "#0ea5e9",
                                       "expires_at": "2030-01-02T03:04"})
    html = client.get("/environments/").content.decode()
    assert "env-badge env-feature-x" in html and "Temporary" in html and "Jan 2, 2030" in html
    assert "Default" in html and "Protected" in html
    assert AuditEntry.objects.filter(action="create", environment="feature-x").exists()


def test_it_says_what_goes_with_an_environment_before_deleting_it(db):
    seed_world("http://127.0.0.1:9")
    client = _admin()
    page = client.get("/environments/staging/delete/").content.decode()
    assert "Route overrides deleted with it (1)" in page and "Demo" in page
    assert client.post("/environments/staging/delete/").status_code == 302
    assert not Environment.objects.filter(name="staging").exists()
    assert not RouteOverride.objects.filter(environment__name="staging").exists()


def test_it_refuses_to_delete_the_default_environment(db):
    seed_world("http://127.0.0.1:9")
    response = _admin().post("/environments/production/delete/")
    assert response.status_code == 400
    assert "The default environment cannot be deleted" in response.content.decode()
    assert Environment.objects.filter(name="production").exists()


def test_it_makes_another_environment_the_default(db):
    seed_world("http://127.0.0.1:9")
    assert _admin().post("/environments/staging/make-default/").status_code == 302
    assert Environment.objects.get(is_default=True).name == "staging"


def test_it_edits_only_the_changed_fields(db):
    seed_world("http://127.0.0.1:9")
    client = Client()
    client.force_login(make_user("developer", password=None))
    response = client.post("/environments/staging/edit/", {"display_name": "QA staging", "color": "#d97706"})
    assert response.status_code == 302
    assert Environment.objects.get(name="staging").display_name == "QA staging"
