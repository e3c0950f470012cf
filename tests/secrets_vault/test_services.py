"""Vault services: audit without values, configuration version, permissions, deletion rules."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError

from core.audit import SYSTEM, Actor
from core.models import AuditEntry, ConfigVersion
from routing.services import route_create
from secrets_vault.models import SecretValue
from secrets_vault.services import (
    secret_create,
    secret_delete,
    secret_delete_value,
    secret_rename,
    secret_set_value,
)
from tests.secrets_vault.conftest import make_secret


def _version() -> int:
    return ConfigVersion.objects.get(pk=1).version


def _developer() -> Actor:
    user = User.objects.create_user("dev")
    user.groups.add(Group.objects.get_or_create(name="Developer")[0])
    return Actor.for_user(user)


def test_each_write_is_audited_without_the_value_and_bumps_the_version(environments):
    start = _version()
    secret = secret_create(actor=SYSTEM, name="TOKEN")
    secret_set_value(actor=SYSTEM, secret=secret, environment=environments["staging"], value="hunter2-first")
    secret_set_value(actor=SYSTEM, secret=secret, environment=environments["staging"], value="hunter2-second")
    secret_rename(actor=SYSTEM, secret=secret, name="TOKEN2")
    secret_delete_value(actor=SYSTEM, secret=secret, environment=environments["staging"])
    secret_delete(actor=SYSTEM, secret=secret)
    assert _version() == start + 6
    entries = list(AuditEntry.objects.filter(resource_type="secret").order_by("timestamp"))
    assert [e.action for e in entries] == [
        "create",
        "set_value",
        "set_value",
        "rename",
        "delete_value",
        "delete",
    ]
    assert entries[2].before["has_value"] is True and entries[2].before["value_version"] == 1
    assert entries[2].after["value_version"] == 2 and entries[2].environment == "staging"
    assert entries[4].after == {"has_value": False}
    assert "hunter2" not in repr([(e.before, e.after, e.resource_name) for e in entries])


def test_value_version_and_updated_by_track_every_set(environments):
    secret = make_secret(environments, "TOKEN", {"staging": "a", "development": "b"})
    secret_set_value(
        actor=Actor(label="alice", role="administrator"),
        secret=secret,
        environment=environments["staging"],
        value="c",
    )
    row = SecretValue.objects.get(secret=secret, environment=environments["staging"])
    assert (row.value_version, row.updated_by) == (2, "alice")


def test_a_developer_cannot_set_a_value_in_a_protected_environment(environments):
    secret = make_secret(environments, "TOKEN", {})
    developer = _developer()
    secret_set_value(actor=developer, secret=secret, environment=environments["staging"], value="ok")
    with pytest.raises(PermissionDenied, match="production is protected"):
        secret_set_value(actor=developer, secret=secret, environment=environments["production"], value="no")
    assert not SecretValue.objects.filter(environment=environments["production"]).exists()


def test_a_viewer_changes_nothing(environments):
    viewer = Actor.for_user(User.objects.create_user("viewer"))
    with pytest.raises(PermissionDenied):
        secret_create(actor=viewer, name="TOKEN")


def test_deleting_a_secret_in_use_is_refused_naming_the_routes(upstream, environments):
    secret = make_secret(environments, "TOKEN", {e: "v" for e in environments})
    route_create(
        actor=SYSTEM,
        name="Uses Name",
        target_base_url=upstream.url,
        inject_headers_json={"X-A": "{{secret:TOKEN}}"},
    )
    route_create(
        actor=SYSTEM,
        name="Uses Id",
        target_base_url=upstream.url,
        inject_body_json={"k": "{{secret_id:" + str(secret.pk) + "}}"},
    )
    with pytest.raises(ValidationError) as caught:
        secret_delete(actor=SYSTEM, secret=secret)
    assert "Uses Id" in str(caught.value) and "Uses Name" in str(caught.value)


@pytest.mark.parametrize("name", ["has-dash", "has space", "", "ünï"])
def test_it_refuses_bad_names(environments, name):
    with pytest.raises(ValidationError):
        secret_create(actor=SYSTEM, name=name)


def test_names_are_unique(environments):
    secret_create(actor=SYSTEM, name="TOKEN")
    with pytest.raises(ValidationError):
        secret_create(actor=SYSTEM, name="TOKEN")


def test_a_developer_cannot_rename_a_secret_that_a_route_live_in_production_injects(environments):
    """Renaming breaks `{{secret:NAME}}` wherever it is injected, production included, even when
    the secret has no production value (any more) to count as protected by."""
    secret = make_secret(environments, "SHARED", {"production": "p", "staging": "s", "development": "d"})
    route_create(
        actor=SYSTEM,
        name="Live",
        target_base_url="https://api.example.com",
        inject_headers_json={"X-Key": "{{secret:SHARED}}"},
    )
    secret_delete_value(actor=SYSTEM, secret=secret, environment=environments["production"])
    developer = _developer()
    with pytest.raises(PermissionDenied, match="production is protected"):
        secret_rename(actor=developer, secret=secret, name="RENAMED")
    with pytest.raises(PermissionDenied, match="production is protected"):
        secret_delete(actor=developer, secret=secret)


def test_a_developer_may_rename_a_secret_only_routes_disabled_in_production_inject(environments):
    secret = make_secret(environments, "DRAFT", {"staging": "s", "development": "d", "production": "p"})
    developer = _developer()
    route_create(
        actor=developer,
        name="Draft",
        target_base_url="https://api.example.com",
        inject_headers_json={"X-Key": "{{secret_id:" + str(secret.pk) + "}}"},
    )
    secret_delete_value(actor=SYSTEM, secret=secret, environment=environments["production"])
    assert secret_rename(actor=developer, secret=secret, name="DRAFT_2").name == "DRAFT_2"
