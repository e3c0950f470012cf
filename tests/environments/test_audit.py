"""Every configuration write leaves an audit entry and a new configuration version, or neither."""

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from core.audit import SYSTEM, Actor
from core.models import AuditEntry, ConfigVersion
from environments.models import Environment
from environments.services import environment_create, environment_delete, environment_make_default
from routing.models import Route, RouteOverride
from routing.services import route_create, route_override_update, route_update

pytestmark = pytest.mark.django_db(transaction=True)


def version() -> int:
    return ConfigVersion.objects.get(pk=1).version


def test_it_audits_and_bumps_the_version_with_each_change(environments):
    before = version()
    route = route_create(
        actor=Actor(label="alice", role="administrator", ip="10.0.0.1"),
        name="Billing",
        target_base_url="https://billing.example.com",
    )
    route_override_update(actor=SYSTEM, route=route, environment=environments["staging"], timeout_ms=500)
    assert version() == before + 2
    created, overridden = AuditEntry.objects.order_by("timestamp")[len(environments) :]
    assert (created.actor_label, created.action, created.resource_type, created.client_ip) == (
        "alice",
        "create",
        "route",
        "10.0.0.1",
    )
    assert created.after["slug"] == "billing"
    assert (overridden.action, overridden.environment) == ("override", "staging")
    assert overridden.before["timeout_ms"] is None and overridden.after["timeout_ms"] == 500


def test_it_writes_nothing_when_validation_fails(environments):
    route = route_create(actor=SYSTEM, name="Billing", target_base_url="https://billing.example.com")
    before, entries = version(), AuditEntry.objects.count()
    with pytest.raises(ValidationError):
        route_update(actor=SYSTEM, route=route, target_base_url="ftp://billing.example.com")
    with pytest.raises(ValidationError):
        route_override_update(actor=SYSTEM, route=route, environment=environments["staging"], timeout_ms=5)
    with pytest.raises(ValidationError, match="slug"):
        route_update(actor=SYSTEM, route=route, slug="other")
    assert (version(), AuditEntry.objects.count()) == (before, entries)
    assert Route.objects.get().target_base_url == "https://billing.example.com"
    assert not RouteOverride.objects.exists()


def test_it_removes_an_override_row_once_every_field_inherits(environments):
    route = route_create(actor=SYSTEM, name="Billing", target_base_url="https://billing.example.com")
    route_override_update(actor=SYSTEM, route=route, environment=environments["staging"], timeout_ms=500)
    assert RouteOverride.objects.count() == 1
    route_override_update(actor=SYSTEM, route=route, environment=environments["staging"], timeout_ms=None)
    assert RouteOverride.objects.count() == 0


def test_it_keeps_exactly_one_default_environment(environments):
    environment_make_default(actor=SYSTEM, environment=environments["staging"])
    assert list(Environment.objects.filter(is_default=True).values_list("name", flat=True)) == ["staging"]
    with pytest.raises(ValidationError, match="default"):
        environment_delete(actor=SYSTEM, environment=Environment.objects.get(name="staging"))
    environment_delete(actor=SYSTEM, environment=environments["production"])
    assert not Environment.objects.filter(name="production").exists()


def test_it_refuses_bad_environment_names(environments):
    for name in ("Prod", "has space", "ünïcode", ""):
        with pytest.raises(ValidationError):
            environment_create(actor=SYSTEM, name=name)


def test_it_refuses_unsafe_targets(environments, settings):
    settings.UPSTREAM_ALLOWED_HOSTS = []
    for url in (
        "http://127.0.0.1:9000",
        "http://169.254.169.254/latest",
        "http://user:pw@api.example.com",
        "file:///etc/passwd",
        "http://10.1.2.3",
        "http://[::1]:80",
        "http://localhost",
    ):
        with pytest.raises(ValidationError, match="target_base_url"):
            route_create(actor=SYSTEM, name=f"r{abs(hash(url))}", target_base_url=url)
    assert not Route.objects.exists()


@pytest.mark.postgres
def test_it_keeps_the_audit_log_append_only_in_sql_on_postgresql(environments):
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass (DATABASE_URL=postgres://…)")
    entry = AuditEntry.objects.first()
    for statement in (
        "UPDATE environments_auditentry SET action = 'forged' WHERE id = %s",
        "DELETE FROM environments_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [str(entry.pk)])
    assert AuditEntry.objects.get(pk=entry.pk).action == entry.action
