"""The pure merge of base values and an environment's overrides (NULL = inherit)."""

import pytest

from routing.effective import INHERITED, OVERRIDDEN, effective_config, serves_change
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


# --- serves_change: whether a base change reaches an environment ------------------------------
SERVED = {**BASE, "name": "Payments"}


@pytest.mark.parametrize(
    ("override", "changes", "reaches"),
    [
        (None, {"timeout_ms": 900}, True),  # inherited and live
        (None, {"timeout_ms": 30000}, False),  # unchanged
        (None, {"name": "Payments v2"}, True),  # callers select the route by its name
        ({"timeout_ms": 1000}, {"timeout_ms": 900}, False),  # the environment overrides it
        ({"enabled": False}, {"target_base_url": "https://evil.example.com"}, False),  # pinned off
        ({"enabled": False}, {"enabled": False}, False),
        ({"enabled": True}, {"enabled": False}, False),  # the override keeps it on
    ],
)
def test_serves_change_says_whether_a_live_environment_sees_the_change(override, changes, reaches):
    assert serves_change(SERVED, override, changes) is reaches


def test_serves_change_counts_enabling_an_environment_that_inherits_enabled():
    disabled = {**SERVED, "enabled": False}
    assert serves_change(disabled, None, {"timeout_ms": 5}) is False  # off before and after
    assert serves_change(disabled, None, {"enabled": True}) is True
    assert serves_change(SERVED, None, {"enabled": False}) is True  # switching it off changes it too
