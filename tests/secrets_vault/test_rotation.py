"""Master key rotation and tampered ciphertexts."""

import io

from django.core.management import call_command

from secrets_vault.cipher import decode_key, generate_key, key_id_of
from secrets_vault.models import SecretValue
from tests.secrets_vault.conftest import make_secret, route_to


def _route(upstream):
    return route_to(
        upstream,
        name="R",
        inject_headers_json={"X-Key": "{{secret:ROTATED}}"},
    )


def test_values_under_key_a_work_after_rotating_to_key_b_and_removing_a(
    gateway, upstream, environments, settings
):
    key_a, key_b = generate_key(), generate_key()
    settings.KNOXCALL_MASTER_KEY = [key_a]
    make_secret(environments, "ROTATED", {e: f"value-{e}" for e in environments})
    assert set(SecretValue.objects.values_list("key_id", flat=True)) == {key_id_of(decode_key(key_a))}
    _route(upstream)
    settings.KNOXCALL_MASTER_KEY = [key_b, key_a]
    out = io.StringIO()
    call_command("knoxcall", "secrets", "rotate-key", stdout=out)
    assert "Re-encrypted 3 value(s)" in out.getvalue() and "value-" not in out.getvalue()
    assert set(SecretValue.objects.values_list("key_id", flat=True)) == {key_id_of(decode_key(key_b))}
    settings.KNOXCALL_MASTER_KEY = [key_b]
    gateway.reload()
    response = gateway.get("/x", environment="development")
    assert response.status_code == 200
    assert upstream.complete[0].header("x-key") == "value-development"


def test_a_value_whose_key_was_removed_refuses_the_call(gateway, upstream, environments, settings):
    settings.KNOXCALL_MASTER_KEY = [generate_key()]
    make_secret(environments, "ROTATED", {e: "v" for e in environments})
    _route(upstream)
    settings.KNOXCALL_MASTER_KEY = [generate_key()]
    gateway.reload()
    response = gateway.get("/x")
    assert response.status_code == 500 and response.json()["code"] == "secret_unavailable"
    assert upstream.received == []


def test_a_tampered_ciphertext_refuses_the_call_and_never_forwards_an_empty_header(
    gateway, upstream, environments
):
    make_secret(environments, "ROTATED", {e: "original" for e in environments})
    _route(upstream)
    row = SecretValue.objects.get(secret__name="ROTATED", environment__name="staging")
    tampered = bytearray(row.ciphertext)
    tampered[-1] ^= 0x01
    SecretValue.objects.filter(pk=row.pk).update(ciphertext=bytes(tampered))
    gateway.reload()
    response = gateway.get("/x", environment="staging", headers={"X-Key": "caller"})
    assert response.status_code == 500
    assert response.json()["code"] == "secret_unavailable" and "ROTATED" in response.json()["error"]
    assert upstream.received == []
    assert gateway.get("/x", environment="production").status_code == 200
    assert upstream.complete[0].header("x-key") == "original"


def test_a_ciphertext_moved_to_another_environment_does_not_decrypt(gateway, upstream, environments):
    make_secret(environments, "ROTATED", {"production": "prod-only", "staging": "s", "development": "d"})
    _route(upstream)
    production = SecretValue.objects.get(secret__name="ROTATED", environment__name="production")
    SecretValue.objects.filter(environment__name="development").update(ciphertext=production.ciphertext)
    gateway.reload()
    assert gateway.get("/x", environment="development").json()["code"] == "secret_unavailable"
    assert upstream.received == []


def test_rotation_refuses_when_a_value_cannot_be_decrypted(environments, settings):
    import pytest
    from django.core.management.base import CommandError

    settings.KNOXCALL_MASTER_KEY = [generate_key()]
    make_secret(environments, "ROTATED", {"staging": "v"})
    settings.KNOXCALL_MASTER_KEY = [generate_key()]
    with pytest.raises(CommandError, match="ROTATED in staging"):
        call_command("knoxcall", "secrets", "rotate-key", stdout=io.StringIO())
