"""What an injection works out when the route table is built, and what it still does on every call."""

from datetime import UTC, datetime

import pytest

from secrets_vault.injection import InjectionRefused, SecretInfo, Vault, build_injection


def _vault(expires_at: datetime | None = None) -> Vault:
    info = SecretInfo(id="s1", name="TOKEN", expires_at=expires_at, strict_expiry=True)
    return Vault(by_name={"TOKEN": info}, by_id={"s1": info}, values={("s1", "staging"): "tok"})


def _injection(template: str, vault: Vault):
    return build_injection({"inject_headers_json": {"Authorization": template}}, "staging", "Pay", vault)


def test_it_renders_headers_that_name_no_request_id_or_time_once():
    injection = _injection("Bearer {{secret:TOKEN}} in {{environment}}", _vault())
    first, second = injection.context("r1"), injection.context("r2")
    assert first is second
    assert injection.render_headers(first) == [(b"authorization", b"Bearer tok in staging")]


def test_it_renders_a_header_naming_the_request_id_on_every_call():
    injection = _injection("{{secret:TOKEN}}:{{request_id}}", _vault())
    assert injection.render_headers(injection.context("r1")) == [(b"authorization", b"tok:r1")]
    assert injection.render_headers(injection.context("r2")) == [(b"authorization", b"tok:r2")]


def test_it_still_checks_expiry_on_every_call_of_a_prepared_injection():
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    injection = _injection("Bearer {{secret:TOKEN}}", _vault(expires_at=expires))
    assert injection.context("r1", now=expires.timestamp() - 1) is injection.fixed_context
    with pytest.raises(InjectionRefused) as refused:
        injection.context("r2", now=expires.timestamp())
    assert refused.value.code == "secret_expired"
