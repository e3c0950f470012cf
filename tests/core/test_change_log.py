"""Each configuration version logs its scope in the same transaction, and the log stays short."""

import pytest
from django.db import transaction

from core import audit
from core.audit import SYSTEM, bump_config_version, record_change, scope
from core.models import ConfigChange, ConfigVersion
from core.selectors import config_scopes_between


@pytest.fixture
def at_version(db) -> int:
    return bump_config_version("route:1")


def test_it_logs_each_version_with_its_scope(at_version):
    record_change(
        actor=SYSTEM, action="revoke", resource_type="api_key", resource_id="k1", before={}, after={"a": 1}
    )
    bump_config_version()
    assert config_scopes_between(at_version, at_version + 2) == {"api_key:k1", audit.EVERYTHING}


def test_a_version_rolled_back_takes_its_scope_with_it(at_version):
    with pytest.raises(RuntimeError), transaction.atomic():
        bump_config_version(scope("route", "2"))
        raise RuntimeError("the write failed")
    assert ConfigVersion.objects.get().version == at_version
    assert list(ConfigChange.objects.values_list("version", flat=True)) == [at_version]


def test_a_gap_in_the_log_answers_none(at_version):
    bump_config_version("route:2")
    ConfigChange.objects.filter(version=at_version + 1).delete()
    assert config_scopes_between(at_version - 1, at_version + 1) is None
    assert config_scopes_between(at_version - 1, at_version) == {"route:1"}


def test_old_versions_are_pruned(at_version, monkeypatch):
    monkeypatch.setattr(audit, "CHANGE_LOG_KEPT", 10)
    for _ in range(100 - at_version):
        bump_config_version("route:1")
    assert ConfigVersion.objects.get().version == 100
    assert min(ConfigChange.objects.values_list("version", flat=True)) == 91


def test_only_served_fields_make_a_version(db):
    def served(resource_type: str, before: dict, after: dict) -> bool:
        return audit.serves_change(resource_type, before, after)

    assert not served("route", {"description": "a", "timeout_ms": 1}, {"description": "b", "timeout_ms": 1})
    assert served("route", {"description": "a", "timeout_ms": 1}, {"description": "a", "timeout_ms": 2})
    assert not served("environment", {"color": "#111111"}, {"color": "#222222"})
    assert served("environment", {"is_protected": False}, {"is_protected": True})
    assert not served("alert_rule", {"threshold": 1}, {"threshold": 2})
    assert served("secret", None, {"name": "TOKEN"})
