"""The pure merge of base values and an environment's overrides (NULL = inherit)."""

import pytest

from routing.effective import INHERITED, OVERRIDDEN, effective_config
from routing.models import OVERRIDABLE_FIELDS

BASE = {
    "target_base_url": "https://api.example.com",
    "enabled": True,
    "allowed_methods": [],
    "timeout_ms": 30000,
    "requires_clients": True,
    "inject_headers_json": {"Authorization": "Bearer {{secret:prod}}"},
    "inject_body_json": {},
    "rate_limit_enabled": True,
    "rate_limit_requests": 100,
    "rate_limit_window_sec": 60,
    "rate_limit_burst": 0,
}
OVERRIDES = {
    "target_base_url": "https://staging.example.com",
    "enabled": False,
    "allowed_methods": ["GET"],
    "timeout_ms": 1000,
    "requires_clients": False,
    "inject_headers_json": {"Authorization": "Bearer {{secret:staging}}"},
    "inject_body_json": {"mode": "test"},
    "rate_limit_enabled": False,
    "rate_limit_requests": 1000,
    "rate_limit_window_sec": 30,
    "rate_limit_burst": 10,
}


def test_it_covers_every_overridable_field():
    assert set(BASE) == set(OVERRIDABLE_FIELDS) == set(OVERRIDES)


@pytest.mark.parametrize("field", list(OVERRIDABLE_FIELDS))
def test_it_takes_the_override_when_set_and_the_base_when_null(field):
    overridden = effective_config(BASE, {**dict.fromkeys(BASE), field: OVERRIDES[field]})
    assert overridden[field] == OVERRIDES[field]
    assert overridden.provenance(field) == OVERRIDDEN
    inherited = effective_config(BASE, dict.fromkeys(BASE))
    assert inherited[field] == BASE[field]
    assert inherited.provenance(field) == INHERITED


def test_it_keeps_falsy_overrides_that_are_not_null():
    config = effective_config(BASE, {"enabled": False, "allowed_methods": [], "rate_limit_burst": 0})
    assert config["enabled"] is False
    assert config.overridden == {"enabled", "allowed_methods", "rate_limit_burst"}


def test_it_inherits_everything_without_an_override_row():
    config = effective_config(BASE, None)
    assert dict(config.values) == BASE
    assert not config.overridden
