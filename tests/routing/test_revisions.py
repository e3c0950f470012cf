"""Route revisions: one per logical write, in the write's transaction, gap-free, none for a no-op."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from configuration.apply import apply_plan
from configuration.document import export_config, plan
from environments.audit import SYSTEM, Actor
from environments.services import client_create
from routing import services
from routing.document import document_digest, route_document
from routing.models import Route, RouteRevision


def _revisions(route_id) -> list[RouteRevision]:
    return list(RouteRevision.objects.filter(route_id=route_id).order_by("number"))


@pytest.fixture
def route(environments) -> Route:
    return services.route_create(actor=SYSTEM, name="Payments", target_base_url="http://127.0.0.1:9/api")


def test_it_records_revision_one_when_a_route_is_created(route):
    [revision] = _revisions(route.pk)
    assert (revision.number, revision.action, revision.actor_label) == (1, "create", "system")
    assert revision.digest == document_digest(route_document(route))


@pytest.mark.parametrize(
    "write",
    [
        lambda r, e: services.route_update(actor=SYSTEM, route=r, timeout_ms=1234),
        lambda r, e: services.route_update(actor=SYSTEM, route=r, enabled=False),
        lambda r, e: services.route_override_update(actor=SYSTEM, route=r, environment=e, timeout_ms=999),
        lambda r, e: services.route_override_replace(actor=SYSTEM, route=r, environment=e, enabled=False),
        lambda r, e: services.route_client_assign(
            actor=SYSTEM,
            route=r,
            environment=e,
            client=client_create(actor=SYSTEM, name="office", ip_address="10.0.0.1"),
        ),
    ],
    ids=["update", "disable", "override", "override-replace", "assign-client"],
)
def test_it_records_exactly_one_revision_per_write(route, environments, write):
    write(route, environments["staging"])
    revisions = _revisions(route.pk)
    assert [r.number for r in revisions] == [1, 2]
    assert revisions[1].digest == document_digest(route_document(Route.objects.get(pk=route.pk)))


@pytest.mark.parametrize(
    "undo",
    [
        lambda r, e, c: services.route_override_delete(actor=SYSTEM, route=r, environment=e),
        lambda r, e, c: services.route_client_unassign(actor=SYSTEM, route=r, environment=e, client=c),
    ],
    ids=["override-delete", "unassign-client"],
)
def test_removing_an_override_or_a_client_records_one_revision(route, environments, undo):
    staging = environments["staging"]
    client = client_create(actor=SYSTEM, name="office", ip_address="10.0.0.1")
    services.route_override_update(actor=SYSTEM, route=route, environment=staging, timeout_ms=700)
    services.route_client_assign(actor=SYSTEM, route=route, environment=staging, client=client)
    undo(route, staging, client)
    revisions = _revisions(route.pk)
    assert [r.number for r in revisions] == [1, 2, 3, 4]
    assert revisions[3].digest == document_digest(route_document(Route.objects.get(pk=route.pk)))


def test_it_names_the_environment_and_the_fields_a_write_changed(route, environments):
    services.route_override_update(
        actor=SYSTEM, route=route, environment=environments["staging"], timeout_ms=500
    )
    revision = _revisions(route.pk)[-1]
    assert (revision.action, revision.environment, revision.fields) == (
        "override",
        "staging",
        ["overrides.staging"],
    )


def test_it_records_nothing_for_a_write_that_changes_nothing(route, environments):
    services.route_update(actor=SYSTEM, route=route, timeout_ms=route.timeout_ms)
    services.route_override_update(
        actor=SYSTEM, route=route, environment=environments["staging"], timeout_ms=None
    )
    assert len(_revisions(route.pk)) == 1


def test_a_refused_write_leaves_no_revision(route, environments):
    with pytest.raises(ValidationError):
        services.route_update(actor=SYSTEM, route=route, inject_headers_json={"X-Key": "{{secret:NOPE}}"})
    assert len(_revisions(route.pk)) == 1


def test_a_revision_rolls_back_with_its_transaction(route):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.route_update(actor=SYSTEM, route=route, timeout_ms=4321)
        raise RuntimeError
    assert len(_revisions(route.pk)) == 1


def test_duplicate_gives_the_copy_one_revision(route, environments):
    services.route_override_update(
        actor=SYSTEM, route=route, environment=environments["staging"], timeout_ms=777
    )
    copy = services.route_duplicate(actor=SYSTEM, route=route)
    [revision] = _revisions(copy.pk)
    assert revision.action == "duplicate"
    assert revision.document["overrides"] == {"staging": {"timeout_ms": 777}}


def test_delete_records_a_revision_that_outlives_the_route(route):
    route_id = route.pk
    services.route_delete(actor=SYSTEM, route=route)
    revisions = _revisions(route_id)
    assert [(r.number, r.action, r.document) for r in revisions][1] == (2, "delete", {})
    assert revisions[0].document["slug"] == "payments"


def test_apply_gives_each_route_one_revision(route, environments):
    client_create(actor=SYSTEM, name="office", ip_address="10.0.0.1")
    desired = export_config()
    [document] = desired["routes"]
    document.update(
        timeout_ms=2500, overrides={"staging": {"enabled": False}}, clients={"staging": ["office"]}
    )
    apply_plan(plan(desired), SYSTEM)
    revisions = _revisions(route.pk)
    assert [(r.number, r.action) for r in revisions] == [(1, "create"), (2, "apply")]
    assert revisions[1].fields == ["timeout_ms", "overrides.staging", "clients.staging"]


def test_a_developer_route_is_one_revision_with_its_pins(environments):
    developer = Actor(label="dev", role="developer")
    route = services.route_create(actor=developer, name="Dev", target_base_url="http://127.0.0.1:9")
    [revision] = _revisions(route.pk)
    assert revision.document["overrides"] == {"production": {"enabled": False}}


def test_secret_references_carry_the_value_version_but_not_the_digest(route, environments):
    from secrets_vault.models import Secret
    from secrets_vault.services import secret_create, secret_set_value

    secret = secret_create(actor=SYSTEM, name="STRIPE")
    for environment in environments.values():
        secret_set_value(actor=SYSTEM, secret=secret, environment=environment, value="v1")
    services.route_update(actor=SYSTEM, route=route, inject_headers_json={"X-Key": "{{secret:STRIPE}}"})
    revision = _revisions(route.pk)[-1]
    assert revision.document["secret_refs"]["staging"] == [
        {"ref": "{{secret:STRIPE}}", "id": str(secret.pk), "name": "STRIPE", "value_version": 1}
    ]
    secret_set_value(
        actor=SYSTEM, secret=Secret.objects.get(pk=secret.pk), environment=environments["staging"], value="v2"
    )
    services.route_update(actor=SYSTEM, route=route, description="touched")
    assert _revisions(route.pk)[-1].document["secret_refs"]["staging"][0]["value_version"] == 2


@pytest.mark.postgres
def test_twenty_concurrent_override_writes_on_postgres_number_2_to_21_without_gaps():
    import json
    import os
    import subprocess
    import sys

    from tests.analytics.pg import ensure_database, pg_reachable
    from tests.conftest import require_service

    if not pg_reachable():
        require_service("PostgreSQL", "127.0.0.1:5432 refused the connection")
    url = ensure_database("knoxcall_revisions")
    run = subprocess.run(
        [sys.executable, "-m", "tests.routing.run_revision_concurrency"],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": url},
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {"numbers": list(range(1, 22)), "errors": []}
