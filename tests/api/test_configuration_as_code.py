"""`manage.py knoxcall export` and `apply`: YAML round trip, diff, dry run, atomicity and audit."""

from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from alerts.models import AlertRule
from alerts.services import alert_rule_create
from core.audit import SYSTEM
from core.models import AuditEntry
from environments.models import Client, Environment
from environments.services import client_create
from routing.models import Route
from routing.services import route_client_assign, route_create, route_override_update
from secrets_vault.models import Secret
from secrets_vault.services import secret_create, secret_set_value


def run(*args: str) -> str:
    out = StringIO()
    call_command("knoxcall", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def configured(environments):
    staging = environments["staging"]
    route = route_create(
        actor=SYSTEM,
        name="Payments",
        target_base_url="https://api.example.com/v1",
        requires_clients=False,
        inject_headers_json={"X-Team": "payments"},
    )
    route_override_update(
        actor=SYSTEM,
        route=route,
        environment=staging,
        timeout_ms=1500,
        target_base_url="https://staging.example.com/v1",
    )
    office = client_create(actor=SYSTEM, name="office", ip_address="10.1.0.0/16")
    route_client_assign(actor=SYSTEM, route=route, environment=staging, client=office)
    secret = secret_create(actor=SYSTEM, name="STRIPE_KEY", description="Stripe")
    secret_set_value(actor=SYSTEM, secret=secret, environment=staging, value="sk_canary_never_exported")
    alert_rule_create(
        actor=SYSTEM,
        name="Payments errors",
        type="error_rate",
        threshold=5.0,
        environments=[staging],
        route=route,
    )
    return route


def wipe() -> None:
    for model in (AlertRule, Route, Client, Secret, Environment):
        model.objects.all().delete()


def test_it_exports_every_resource_and_no_secret_value(configured):
    text = run("export")
    document = yaml.safe_load(text)
    assert [e["name"] for e in document["environments"]] == ["production", "development", "staging"]
    route = document["routes"][0]
    assert route["slug"] == "payments"
    assert route["overrides"] == {
        "staging": {"target_base_url": "https://staging.example.com/v1", "timeout_ms": 1500}
    }
    assert route["clients"] == {"staging": ["office"]}
    assert document["secrets"] == [{"name": "STRIPE_KEY", "secret_type": "string", "description": "Stripe"}]
    assert document["alert_rules"][0]["route"] == "payments"
    assert "sk_canary" not in text


def test_it_round_trips_through_an_empty_database(configured, tmp_path):
    first = run("export")
    path = tmp_path / "knoxcall.yaml"
    path.write_text(first)
    wipe()
    output = run("apply", str(path))
    assert "+ route payments" in output and "Applied" in output
    assert run("export") == first
    assert run("apply", str(path)).strip() == "No changes: the configuration already matches."


def test_it_prints_the_diff_and_changes_nothing_on_a_dry_run(configured, tmp_path):
    document = yaml.safe_load(run("export"))
    document["routes"][0]["overrides"]["staging"]["timeout_ms"] = 900
    document["clients"] = []
    document["routes"][0]["clients"] = {}
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    output = run("apply", str(path), "--dry-run")
    assert "~ route payments: overrides" in output
    assert "- client office" in output
    assert "Dry run" in output
    assert Client.objects.filter(name="office").exists()
    run("apply", str(path))
    assert not Client.objects.filter(name="office").exists()
    assert Route.objects.get(slug="payments").overrides.get().timeout_ms == 900
    assert AuditEntry.objects.filter(actor_label="config-apply:changed.yaml", action="override").exists()


def test_it_applies_all_or_nothing(configured, tmp_path):
    document = yaml.safe_load(run("export"))
    document["environments"].append({"name": "qa", "color": "#123456"})
    document["clients"].append({"name": "broken", "ip_address": "not-an-ip"})
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(CommandError, match="Nothing was applied"):
        run("apply", str(path))
    assert not Environment.objects.filter(name="qa").exists()


def test_it_reports_an_unreadable_or_invalid_file_as_an_error_not_a_traceback(environments, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("routes: [\n  - slug: a\n    name: {unclosed\n")
    with pytest.raises(CommandError, match="not valid YAML"):
        run("apply", str(broken))
    with pytest.raises(CommandError, match="Cannot read"):
        run("apply", str(tmp_path / "missing.yaml"))


def nested(depth: int, leaf):
    value = leaf
    for _ in range(depth):
        value = {"k": value}
    return value


# Values a YAML round trip could bend: YAML keywords, numbers as text, odd unicode, big and float numbers.
AWKWARD = {
    "words": ["yes", "no", "null", "~", "on", "- item", "key: value", " padded ", "0x1F", "1e3", "#hash"],
    "unicode": "naïve ☃ \u2028 line sep \U0001f600",
    "numbers": [0, -1, 2**63, 1.5, -0.0],
    "flags": [True, False, None],
    "empty": {"dict": {}, "list": [], "text": ""},
}


def test_it_exports_and_applies_back_whatever_the_api_accepts(admin, tmp_path):
    """What /v1 stored could break `knoxcall export` (a 500-level nested value); now it cannot."""
    route = {
        "name": "Awkward",
        "slug": "awkward",
        "target_base_url": "https://api.example.com",
        "inject_headers_json": {"X-Note": "yes: {{secret:TOKEN}}"},
        "inject_body_json": {"deep": nested(31, "bottom"), **AWKWARD},
    }
    assert admin.post("/v1/secrets", {"name": "TOKEN", "value": "v"}).status_code == 201
    for environment in ("staging", "development"):
        value = {"value": "v", "environment": environment}
        assert admin.put("/v1/secrets/TOKEN/value", value).status_code == 200
    created = admin.post("/v1/routes", route)
    assert created.status_code == 201, created.body
    override = {"inject_body_json": {"only": AWKWARD["words"]}, "timeout_ms": 100}
    assert admin.put("/v1/routes/awkward/environments/staging", override).status_code == 200
    refused = admin.post(
        "/v1/routes", {**route, "name": "Deeper", "slug": "deeper", "inject_body_json": nested(500, 1)}
    )
    assert refused.status_code == 400  # bounded at write time, so the export below cannot break

    first = run("export")
    path = tmp_path / "knoxcall.yaml"
    path.write_text(first)
    Route.objects.all().delete()  # secret values cannot travel in a document: the vault stays
    assert "+ route awkward" in run("apply", str(path))
    assert run("export") == first
    assert Route.objects.get(slug="awkward").inject_body_json == route["inject_body_json"]
    assert run("apply", str(path)).strip() == "No changes: the configuration already matches."
