"""Feature-branch environments through /v1 only, against the real gateway and recording upstreams."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.audit import SYSTEM
from core.models import AuditEntry
from environments.models import Environment
from environments.services import api_key_create, environment_create
from routing.models import RouteClient, RouteOverride
from routing.services import route_create, route_override_update
from secrets_vault.services import secret_create, secret_set_value
from tests.api.conftest import Api
from tests.support.access import allow_local_callers
from tests.support.upstream import RecordingUpstream, echo_json


@pytest.fixture
def feature_upstream():
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def payments(environments, upstream):
    """A route injecting two secrets, both with a staging value, open to local callers in staging only."""
    for name, value in (("API_KEY", "staging-api-key"), ("FEATURE_TOKEN", "staging-token")):
        secret = secret_create(actor=SYSTEM, name=name)
        secret_set_value(actor=SYSTEM, secret=secret, environment=environments["staging"], value=value)
        for other in ("production", "development"):
            secret_set_value(actor=SYSTEM, secret=secret, environment=environments[other], value=other)
    route = route_create(
        actor=SYSTEM,
        name="Payments",
        slug="payments",
        target_base_url=upstream.url,
        inject_headers_json={"X-Api-Key": "{{secret:API_KEY}}", "X-Token": "{{secret:FEATURE_TOKEN}}"},
    )
    route_override_update(actor=SYSTEM, route=route, environment=environments["staging"], timeout_ms=5000)
    return allow_local_callers(route, ["staging"])


@pytest.fixture
def ci(environments) -> Api:
    """A CI job's key: a Developer's."""
    return Api(api_key_create(actor=SYSTEM, name="ci", role="developer")[1])


@pytest.fixture
def admin(environments) -> Api:
    return Api(api_key_create(actor=SYSTEM, name="admin", role="administrator")[1])


def _logs():
    from analytics.models import RequestLog
    from analytics.recorder import flush

    flush()
    return RequestLog.objects.order_by("-timestamp")


def test_a_ci_script_creates_a_feature_environment_that_serves_its_first_call(
    gateway, upstream, feature_upstream, payments, ci
):
    created = ci.post(
        "/v1/environments", {"name": "feature-payment-v2", "clone_from": "staging", "ttl_hours": 1}
    )
    assert created.status_code == 201, created.body
    assert created.body["data"]["parent"] == "staging" and created.body["data"]["expires_at"]
    override = ci.patch(
        "/v1/routes/payments/environments/feature-payment-v2", {"target_base_url": feature_upstream.url}
    )
    assert override.status_code == 200, override.body
    value = ci.put("/v1/secrets/FEATURE_TOKEN/value", {"environment": "feature-payment-v2", "value": "f-1"})
    assert value.status_code == 200, value.body
    gateway.reload()

    response = gateway.get("/charges", route="payments", environment="feature-payment-v2")

    assert response.status_code == 200, response.text
    assert upstream.complete == [] and len(feature_upstream.complete) == 1
    received = feature_upstream.complete[0]
    assert received.header("x-token") == "f-1"
    assert received.header("x-api-key") == "staging-api-key"  # not set here: the parent's value
    assert response.headers["x-knoxcall-environment"] == "feature-payment-v2"
    assert sorted(_logs().first().secrets_used) == ["API_KEY@staging", "FEATURE_TOKEN"]
    # The clone copied staging's override row (timeout) under the new target.
    assert echo_json(response)["path"] == "/charges"
    copied = RouteOverride.objects.get(environment__name="feature-payment-v2")
    assert copied.timeout_ms == 5000 and copied.target_base_url == feature_upstream.url


def test_running_the_same_create_twice_answers_200_with_the_existing_environment(payments, ci):
    body = {"name": "feature-x", "clone_from": "staging", "ttl_hours": 2}
    first, second = ci.post("/v1/environments", body), ci.post("/v1/environments", body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.body["data"]["id"] == first.body["data"]["id"]
    assert RouteClient.objects.filter(environment__name="feature-x").count() == 2  # v4 and v6, once
    keyed = {"X-Idempotency-Key": "ci-run-7"}
    again = [ci.post("/v1/environments", {"name": "feature-y", "ttl_hours": 1}, headers=keyed) for _ in "ab"]
    assert [r.status_code for r in again] == [201, 201] and again[0].body == again[1].body
    assert Environment.objects.filter(name="feature-y").count() == 1


def test_a_feature_environment_never_uses_a_protected_environments_values(gateway, upstream, payments):
    production = Environment.objects.get(name="production")
    child = environment_create(actor=SYSTEM, name="feature-z", ttl_hours=1)
    Environment.objects.filter(pk=child.pk).update(parent=production)  # as if production became its parent
    environment_create(actor=SYSTEM, name="bump")  # a configuration change: the table is rebuilt
    allow_local_callers(payments, ["feature-z"])
    gateway.reload()
    response = gateway.get("/x", route="payments", environment="feature-z")
    assert response.status_code == 500 and response.json()["code"] == "secret_missing"
    assert upstream.complete == []


def test_it_refuses_protected_parents_protected_temporaries_and_too_many(admin, environments, settings):
    refused = admin.post("/v1/environments", {"name": "f1", "clone_from": "production", "ttl_hours": 1})
    assert refused.status_code == 400 and "protected" in refused.body["error"]["message"]
    both = admin.post("/v1/environments", {"name": "f2", "is_protected": True, "ttl_hours": 1})
    assert both.status_code == 400 and "cannot be temporary" in str(both.body)
    settings.KNOXCALL_MAX_TEMPORARY_ENVIRONMENTS = 1
    assert admin.post("/v1/environments", {"name": "f3", "ttl_hours": 1}).status_code == 201
    capped = admin.post("/v1/environments", {"name": "f4", "ttl_hours": 1})
    assert (
        capped.status_code == 400 and "KNOXCALL_MAX_TEMPORARY_ENVIRONMENTS" in capped.body["error"]["message"]
    )


def test_extend_moves_the_expiry_and_is_audited(admin, environments):
    admin.post("/v1/environments", {"name": "feature-e", "ttl_hours": 1})
    extended = admin.post("/v1/environments/feature-e/extend", {"ttl_hours": 48})
    assert extended.status_code == 200, extended.body
    expires = Environment.objects.get(name="feature-e").expires_at
    assert expires > timezone.now() + timedelta(hours=47)
    assert AuditEntry.objects.filter(action="extend", environment="feature-e").count() == 1
    permanent = admin.post("/v1/environments/staging/extend", {"ttl_hours": 1})
    assert permanent.status_code == 400 and "not temporary" in permanent.body["error"]["message"]
