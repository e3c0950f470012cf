"""Rollback to a revision: one transaction, one audit entry, one revision equal to the target's."""

import time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.audit import SYSTEM, Actor
from core.models import AuditEntry
from deployments.models import Deployment
from routing import releases, services
from routing.document import document_digest, route_document
from routing.models import Release, Route, RouteRevision
from routing.release_guard import ReleaseInProgress
from routing.rollback import rollback_preview, route_rollback
from routing.selectors import effective_for
from secrets_vault.models import Secret
from secrets_vault.services import secret_create, secret_rename, secret_set_value
from tests.support.access import allow_local_callers

ADMIN = Actor(label="alice", role="administrator")
DEVELOPER = Actor(label="dev", role="developer")
CANDIDATE = {"target_base_url": "http://127.0.0.1:9/api-v3"}


def _secret(environments, name="TOKEN", value="tok-1") -> Secret:
    secret = secret_create(actor=SYSTEM, name=name)
    for environment in environments.values():
        secret_set_value(actor=SYSTEM, secret=secret, environment=environment, value=value)
    return Secret.objects.get(pk=secret.pk)


def _last(route_id) -> RouteRevision:
    return RouteRevision.objects.filter(route_id=route_id).order_by("-number").first()


def _written(route: Route) -> tuple:
    """What a refused rollback must leave as it was: the route, its revisions, the audit log, deployments."""
    document = route_document(Route.objects.get(pk=route.pk))
    return document, RouteRevision.objects.count(), AuditEntry.objects.count(), Deployment.objects.count()


@pytest.fixture
def route(environments) -> Route:
    return services.route_create(actor=SYSTEM, name="Payments", target_base_url="http://127.0.0.1:9/api")


def test_rollback_restores_base_overrides_and_clients_in_one_revision(route, environments):
    _secret(environments)
    templates = {"X-Key": "{{secret:TOKEN}}"}
    services.route_update(actor=SYSTEM, route=route, inject_headers_json=templates, timeout_ms=1500)
    services.route_override_update(
        actor=SYSTEM, route=route, environment=environments["staging"], enabled=False
    )
    target = _last(route.pk)
    services.route_update(actor=SYSTEM, route=route, inject_headers_json={}, timeout_ms=9000)
    services.route_override_delete(actor=SYSTEM, route=route, environment=environments["staging"])
    allow_local_callers(route, ["development"])
    audits = AuditEntry.objects.count()

    revision = route_rollback(
        actor=ADMIN, route_id=route.pk, to_revision=target.number, reason="bad deploy"
    ).revision

    assert revision.number == target.number + 5 and revision.digest == target.digest
    assert (revision.action, revision.restored_from, revision.reason) == (
        "rollback",
        target.number,
        "bad deploy",
    )
    assert document_digest(route_document(Route.objects.get(pk=route.pk))) == target.digest
    assert route_document(Route.objects.get(pk=route.pk))["inject_headers_json"] == templates
    assert AuditEntry.objects.count() == audits + 1
    [entry] = AuditEntry.objects.filter(action="rollback")
    assert (entry.actor_label, entry.after["revision"]) == ("alice", target.number)


def test_rollback_refused_for_a_missing_secret_changes_nothing(route, environments):
    secret = _secret(environments)
    services.route_update(actor=SYSTEM, route=route, inject_headers_json={"X-Key": "{{secret:TOKEN}}"})
    target = _last(route.pk)
    services.route_update(actor=SYSTEM, route=route, inject_headers_json={}, timeout_ms=9000)
    secret_rename(actor=SYSTEM, secret=secret, name="TOKEN_V2")
    before = _written(route)

    with pytest.raises(ValidationError) as refused:
        route_rollback(actor=ADMIN, route_id=route.pk, to_revision=target.number)

    assert refused.value.code == "secret_missing"
    assert _written(route) == before


def test_rollback_of_one_environment_leaves_the_others(route, environments):
    staging, development = environments["staging"], environments["development"]
    services.route_override_update(actor=SYSTEM, route=route, environment=staging, timeout_ms=2000)
    target = _last(route.pk)
    services.route_override_update(actor=SYSTEM, route=route, environment=staging, timeout_ms=3000)
    services.route_override_update(actor=SYSTEM, route=route, environment=development, timeout_ms=4000)
    services.route_update(actor=SYSTEM, route=route, allowed_methods=["GET"])

    route_rollback(
        actor=ADMIN, route_id=route.pk, to_revision=target.number, scope="environment", environment="staging"
    )

    document = route_document(Route.objects.get(pk=route.pk))
    assert document["overrides"] == {
        "staging": {"timeout_ms": 2000, "allowed_methods": []},
        "development": {"timeout_ms": 4000},
    }
    assert document["allowed_methods"] == ["GET"]


def test_a_deleted_route_comes_back_with_its_id_and_slug(route, environments):
    services.route_override_update(
        actor=SYSTEM, route=route, environment=environments["staging"], timeout_ms=2000
    )
    target = _last(route.pk)
    route_id = route.pk
    services.route_delete(actor=SYSTEM, route=route)

    revision = route_rollback(actor=ADMIN, route_id=route_id, to_revision=target.number).revision

    restored = Route.objects.get(pk=route_id)
    assert (restored.slug, revision.digest) == ("payments", target.digest)
    assert rollback_preview(route_id, target.number).changes == []


def test_a_developer_cannot_roll_back_what_production_serves(route, environments):
    target = _last(route.pk)
    services.route_update(actor=SYSTEM, route=route, timeout_ms=9000)
    with pytest.raises(PermissionDenied):
        route_rollback(actor=DEVELOPER, route_id=route.pk, to_revision=target.number)
    route_rollback(
        actor=DEVELOPER,
        route_id=route.pk,
        to_revision=target.number,
        scope="environment",
        environment="staging",
    )
    assert route_document(Route.objects.get(pk=route.pk))["overrides"] == {"staging": {"timeout_ms": 30000}}


def test_a_rollback_that_would_move_a_running_releases_baseline_is_refused(route, environments):
    target = _last(route.pk)
    services.route_update(actor=SYSTEM, route=route, target_base_url="http://127.0.0.1:9/api-v2")
    releases.start_release(ADMIN, route, environments["staging"], candidate=CANDIDATE)
    before = _written(route)

    with pytest.raises(ReleaseInProgress, match="in staging: target_base_url"):  # staging inherits the base
        route_rollback(actor=ADMIN, route_id=route.pk, to_revision=target.number)
    with pytest.raises(ReleaseInProgress, match="in staging: target_base_url"):
        route_rollback(
            actor=ADMIN,
            route_id=route.pk,
            to_revision=target.number,
            scope="environment",
            environment="staging",
        )

    assert _written(route) == before


def test_a_rollback_that_leaves_a_running_releases_fields_as_they_are_proceeds(route, environments):
    staging = environments["staging"]
    services.route_override_update(
        actor=SYSTEM, route=route, environment=staging, target_base_url="http://127.0.0.1:9/staging"
    )
    target = _last(route.pk)
    services.route_update(
        actor=SYSTEM, route=route, target_base_url="http://127.0.0.1:9/api-v2", allowed_methods=["GET"]
    )
    services.route_override_update(actor=SYSTEM, route=route, environment=staging, rate_limit_enabled=True)
    release = releases.start_release(ADMIN, route, staging, candidate=CANDIDATE)

    # The base target moves back where staging overrides it, and staging's other settings move back.
    revision = route_rollback(actor=ADMIN, route_id=route.pk, to_revision=target.number).revision

    assert revision.digest == target.digest
    assert Release.objects.get(pk=release.pk).state == release.state
    assert effective_for(route, staging)["target_base_url"] == "http://127.0.0.1:9/staging"


def test_the_preview_lists_field_changes_and_secret_values_rotated_since(route, environments):
    secret = _secret(environments)
    services.route_update(actor=SYSTEM, route=route, inject_headers_json={"X-Key": "{{secret:TOKEN}}"})
    target = _last(route.pk)
    services.route_update(actor=SYSTEM, route=route, timeout_ms=9000)
    secret_set_value(actor=SYSTEM, secret=secret, environment=environments["staging"], value="tok-2")

    preview = rollback_preview(route.pk, target.number)

    assert {(c.environment, c.field, c.before, c.after) for c in preview.changes} == {
        (env, "timeout_ms", 9000, 30000) for env in environments
    }
    assert preview.secret_changes == [
        {"environment": "staging", "secret": "TOKEN", "ref": "{{secret:TOKEN}}", "then": 1, "now": 2}
    ]


def test_within_a_second_the_gateway_serves_the_restored_revision(gateway, upstream, environments):
    _secret(environments, value="tok-canary-1")
    route = services.route_create(
        actor=SYSTEM,
        name="Rolled",
        target_base_url=upstream.url,
        inject_headers_json={"X-Key": "{{secret:TOKEN}}", "X-Rev": "one"},
    )
    allow_local_callers(route)
    target = _last(route.pk)
    services.route_update(actor=SYSTEM, route=route, inject_headers_json={"X-Rev": "two"})
    gateway.reload()
    assert gateway.get("/x", route=route.slug).status_code == 200
    assert upstream.received[-1].header("X-Rev") == "two"

    route_rollback(actor=ADMIN, route_id=route.pk, to_revision=target.number)
    deadline, seen = time.monotonic() + 1.0, None
    while time.monotonic() < deadline:
        assert gateway.get("/x", route=route.slug).status_code == 200
        seen = (upstream.received[-1].header("X-Rev"), upstream.received[-1].header("X-Key"))
        if seen == ("one", "tok-canary-1"):
            break
        time.sleep(0.05)
    assert seen == ("one", "tok-canary-1")
