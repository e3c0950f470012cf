from django.test import Client
from django.utils import timezone

from alerts.models import AlertIncident
from alerts.services import alert_rule_create
from analytics.models import RequestLog
from core.audit import SYSTEM
from core.models import AuditEntry
from environments.models import Environment
from routing.models import RouteOverride
from secrets_vault.models import SecretValue
from secrets_vault.services import secret_create, secret_set_value
from tests.support.console import make_user, seed_world


def _admin() -> Client:
    client = Client()
    client.force_login(make_user("administrator", password=None))
    return client


def test_it_lists_colour_default_protected_and_expiry(db):
    seed_world("http://127.0.0.1:9")
    client = _admin()
    client.post(
        "/environments/new/", {"name": "feature-x", "color": "#0ea5e9", "expires_at": "2030-01-02T03:04"}
    )
    html = client.get("/environments/").content.decode()
    assert "env-badge env-feature-x" in html and "Temporary" in html and "Jan 2, 2030" in html
    assert "Default" in html and "Protected" in html
    assert AuditEntry.objects.filter(action="create", environment="feature-x").exists()


def test_it_says_what_goes_with_an_environment_before_deleting_it(db):
    seed_world("http://127.0.0.1:9")
    client = _admin()
    page = client.get("/environments/staging/delete/").content.decode()
    assert "Route overrides (1)" in page and "Demo" in page
    assert client.post("/environments/staging/delete/").status_code == 302
    assert not Environment.objects.filter(name="staging").exists()
    assert not RouteOverride.objects.filter(environment__name="staging").exists()


def test_it_lists_what_goes_and_keeps_history_filterable_after_deleting(db):
    seed_world("http://127.0.0.1:9")
    staging = Environment.objects.get(name="staging")
    secret = secret_create(actor=SYSTEM, name="STAGING_TOKEN")
    secret_set_value(actor=SYSTEM, secret=secret, environment=staging, value="s3cret-value")
    rule = alert_rule_create(
        actor=SYSTEM, name="Staging errors", type="error_rate", threshold=5, environments=[staging]
    )
    AlertIncident.objects.create(
        rule=rule,
        environment=staging,
        environment_name="staging",
        observed_value=50,
        threshold=5,
        opened_at=timezone.now(),
    )
    RequestLog.objects.create(
        request_id="req-staging-1",
        timestamp=timezone.now(),
        environment="staging",
        method="GET",
        path="/x",
        status=200,
        latency_ms=1.0,
    )
    client = _admin()
    page = client.get("/environments/staging/delete/").content.decode()
    assert "Secret values (1)" in page and "STAGING_TOKEN (version 1)" in page
    assert "Alert rule links (1)" in page and "Staging errors" in page
    assert "Alert incidents: 1" in page and "Request logs: 1" in page
    assert "s3cret-value" not in page

    assert client.post("/environments/staging/delete/").status_code == 302
    assert not SecretValue.objects.filter(secret=secret).exists()
    incident = AlertIncident.objects.get(rule=rule)  # kept (it was deleted with the environment before)
    assert (incident.environment, incident.environment_name) == (None, "staging")
    assert "staging (deleted)" in client.get("/alerts/").content.decode()
    logs = client.get("/analytics/requests/", {"environment": "staging"})
    assert logs.status_code == 200 and "req-staging-1" in logs.content.decode()
    assert b"staging (deleted)" in logs.content


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
