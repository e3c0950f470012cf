"""schemathesis against /v1/openapi.json of the live server: every operation, as an Administrator.

A bounded number of generated examples per operation; no answer may be a 5xx or break its documented schema.
Each operation runs twice: once with generated path ids (mostly 404s), once with its path ids pinned to
objects that exist (re-created before every operation), so the success answers are checked too.
"""

import copy

import httpx
import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from alerts.models import AlertIncident, AlertRule
from analytics.models import RequestLog
from core.audit import SYSTEM
from deployments.models import Deployment, DeploymentKind, Promotion
from deployments.services import promotion_create
from environments.models import ApiKey, Client, Environment, RegionNetwork
from environments.regions import region_network_create
from environments.services import api_key_create, client_create, environment_create
from routing.models import Release, Route
from routing.releases import start_release
from routing.services import route_create, route_override_update
from secrets_vault.models import Secret
from secrets_vault.services import secret_create, secret_set_value

MAX_EXAMPLES = 8


@pytest.fixture
def live_api(gateway):
    _, raw_key = api_key_create(actor=SYSTEM, name="schemathesis", role="administrator")
    return gateway.url, {"Authorization": f"Bearer {raw_key}"}


def seed() -> dict[str, str]:
    """Objects for every kind of path id (get or create: an earlier operation may have deleted one)."""
    staging = Environment.objects.filter(name="staging").first() or environment_create(
        actor=SYSTEM, name="staging"
    )
    route = Route.objects.filter(slug="orders").first() or route_create(
        actor=SYSTEM, name="Orders", slug="orders", target_base_url="https://api.example.com"
    )
    if not Client.objects.filter(name="office").exists():
        client_create(actor=SYSTEM, name="office", ip_address="10.0.0.1")
    if not Secret.objects.filter(name="TOKEN").exists():
        secret = secret_create(actor=SYSTEM, name="TOKEN")
        secret_set_value(actor=SYSTEM, secret=secret, environment=staging, value="v")
    key = (
        ApiKey.objects.filter(name="victim").first()
        or api_key_create(actor=SYSTEM, name="victim", role="viewer")[0]
    )
    rule = AlertRule.objects.filter(name="rule").first() or AlertRule.objects.create(
        name="rule", type="latency", threshold=1
    )
    incident = AlertIncident.objects.filter(rule=rule).first() or AlertIncident.objects.create(
        rule=rule,
        environment=staging,
        environment_name="staging",
        observed_value=2,
        threshold=1,
        opened_at=timezone.now(),
    )
    network = RegionNetwork.objects.first() or region_network_create(
        actor=SYSTEM, region="eu", cidr="10.20.0.0/16"
    )
    if not RequestLog.objects.filter(request_id="req-1").exists():
        RequestLog.objects.create(
            request_id="req-1",
            timestamp=timezone.now(),
            route_id=route.pk,
            environment="staging",
            method="GET",
            path="/",
            status=200,
            latency_ms=1.0,
        )
    promotion = Promotion.objects.filter(title="seeded").first()
    if promotion is None:
        route_override_update(actor=SYSTEM, route=route, environment=staging, timeout_ms=1234)
        production = Environment.objects.get(name="production")
        promotion = promotion_create(actor=SYSTEM, source=staging, target=production, title="seeded")
    release = Release.objects.filter(route=route).first() or start_release(
        SYSTEM, route, staging, candidate={"target_base_url": "https://api.example.com/v2"}
    )
    deployment = Deployment.objects.filter(title="seeded").first() or Deployment.objects.create(
        kind=DeploymentKind.ROLLBACK,
        title="seeded",
        environment=staging,
        route_ids=[str(route.pk)],
        revisions={str(route.pk): 1},
        started_at=timezone.now(),
        actor_label="seed",
    )
    return {
        "deployment": str(deployment.pk),
        "release": str(release.pk),
        "promotion": str(promotion.pk),
        "route": "orders",
        "env": "staging",
        "client": "office",
        "secret": "TOKEN",
        "key": str(key.pk),
        "rule": str(rule.pk),
        "incident": str(incident.pk),
        "request_id": "req-1",
        "network": str(network.pk),
        "n": "1",  # the route's first revision, which every route has
    }


def load_schemas(base_url: str, headers: dict, ids: dict[str, str]):
    """The served schema, and a copy whose path parameters can only be the seeded ids."""
    raw = httpx.get(f"{base_url}/v1/openapi.json", headers=headers, timeout=10).raise_for_status().json()
    pinned = copy.deepcopy(raw)
    for operations in pinned["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    parameter["schema"] = {"type": "string", "enum": [ids[parameter["name"]]]}
    return schemathesis.openapi.from_dict(raw), schemathesis.openapi.from_dict(pinned)


def check_operation(operation, base_url: str, headers: dict) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        case.call_and_validate(
            base_url=base_url, headers=headers, checks=[not_a_server_error, response_schema_conformance]
        )

    run()


def test_it_answers_every_operation_within_its_schema(live_api):
    # The pytest plugin's lazy fixture loader does not run on this pytest; driving Hypothesis per operation
    # is the same test, and reports every failing operation at once.
    base_url, headers = live_api
    failures, count = {}, 0
    for schema in load_schemas(base_url, headers, seed()):
        for result in schema.get_all_operations():
            operation = result.ok()
            count += 1
            seed()
            try:
                check_operation(operation, base_url, headers)
            except Exception as exc:  # noqa: BLE001 - collected, reported below
                failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:1500]}"
    print(f"schemathesis: {count} operation runs, {MAX_EXAMPLES} examples at most each")
    assert count >= 80
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
