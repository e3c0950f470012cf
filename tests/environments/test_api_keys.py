from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from core.audit import SYSTEM, Actor
from core.models import AuditEntry
from core.permissions import DEVELOPER
from environments.api_keys import hash_api_key
from environments.models import ApiKey
from environments.selectors import api_key_authenticate
from environments.services import api_key_create, api_key_revoke, api_keys_touch

pytestmark = pytest.mark.django_db


def test_it_returns_the_key_once_and_stores_only_its_hash():
    api_key, raw_key = api_key_create(actor=SYSTEM, name="ci", role="developer")
    assert raw_key.startswith("tk_live_") and len(raw_key) == len("tk_live_") + 40
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert stored.key_hash == hash_api_key(raw_key)
    assert raw_key not in str(ApiKey.objects.values().get(pk=api_key.pk))
    assert raw_key.startswith(stored.display_prefix) and len(stored.display_prefix) == 12


def test_it_makes_test_keys_on_request():
    _, raw_key = api_key_create(actor=SYSTEM, name="sandbox", role="viewer", live=False)
    assert raw_key.startswith("tk_test_")


def test_it_authenticates_an_active_key_and_not_a_revoked_or_unknown_one():
    api_key, raw_key = api_key_create(actor=SYSTEM, name="ops", role="administrator")
    assert api_key_authenticate(raw_key) == api_key
    assert api_key_authenticate(raw_key[:-1] + ("A" if raw_key[-1] != "A" else "B")) is None
    assert api_key_authenticate("") is None and api_key_authenticate(None) is None
    api_key_revoke(actor=SYSTEM, api_key=api_key)
    assert api_key_authenticate(raw_key) is None


def test_it_audits_creation_and_revocation_without_the_secret():
    api_key, raw_key = api_key_create(actor=SYSTEM, name="audited", role="viewer")
    api_key_revoke(actor=SYSTEM, api_key=api_key)
    entries = AuditEntry.objects.filter(resource_type="api_key", resource_id=str(api_key.pk))
    assert sorted(entries.values_list("action", flat=True)) == ["create", "revoke"]
    for entry in entries:
        assert raw_key not in str(entry.after) and api_key.key_hash not in str(entry.after)


def test_it_lets_only_administrators_manage_keys():
    developer = Actor(label="dev", role=DEVELOPER)
    with pytest.raises(PermissionDenied):
        api_key_create(actor=developer, name="nope", role="viewer")
    api_key, _ = api_key_create(actor=SYSTEM, name="kept", role="viewer")
    with pytest.raises(PermissionDenied):
        api_key_revoke(actor=developer, api_key=api_key)


def test_it_records_the_creating_user():
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-pw-pw-pw")
    api_key, _ = api_key_create(actor=Actor.for_user(user), name="mine", role="viewer")
    assert api_key.created_by == user


def test_it_builds_an_actor_for_a_key():
    api_key, _ = api_key_create(actor=SYSTEM, name="robot", role="developer")
    actor = Actor.for_api_key(api_key, "10.0.0.1")
    expected = ("developer", str(api_key.pk), "10.0.0.1", None)
    assert (actor.role, actor.api_key_id, actor.ip, actor.user) == expected
    assert "robot" in actor.label


def test_it_prints_a_new_key_from_the_command_line():
    out = StringIO()
    call_command("knoxcall", "apikey", "create", "--name", "bootstrap", "--role", "administrator", stdout=out)
    raw_key = out.getvalue().strip().splitlines()[-1]
    assert api_key_authenticate(raw_key).role == "administrator"


def test_a_usage_entry_that_names_no_key_does_not_block_the_others(db):
    key, _ = api_key_create(actor=SYSTEM, name="ci", role="viewer")
    now = datetime.now(UTC)
    assert api_keys_touch({"not-a-key": now, str(key.pk): now}) == 1
    assert ApiKey.objects.get(pk=key.pk).last_used_at == now


def test_a_key_last_used_time_never_moves_backwards_when_workers_flush_out_of_order(db):
    """Each gateway process flushes its own batch: an older use may reach the database after a newer one."""
    key, _ = api_key_create(actor=SYSTEM, name="ci", role="viewer")
    newer = datetime.now(UTC)
    assert api_keys_touch({str(key.pk): newer}) == 1
    assert api_keys_touch({str(key.pk): newer - timedelta(seconds=3)}) == 0
    assert ApiKey.objects.get(pk=key.pk).last_used_at == newer
