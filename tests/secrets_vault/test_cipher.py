"""The cipher: AES-256-GCM per value, key ids, the embedded development key and the deployment check."""

import pytest

from knoxcall.checks import check_production_defaults
from secrets_vault import cipher


def test_it_round_trips_and_binds_the_ciphertext_to_its_row(settings):
    settings.KNOXCALL_MASTER_KEY = [cipher.generate_key()]
    sealed, key_id = cipher.encrypt("value", secret_id="s", environment_id=1)
    assert b"value" not in sealed
    assert cipher.decrypt(sealed, key_id, secret_id="s", environment_id=1) == "value"
    with pytest.raises(cipher.DecryptionError):
        cipher.decrypt(sealed, key_id, secret_id="s", environment_id=2)


def test_it_generates_the_embedded_key_once_with_owner_only_permissions(settings, tmp_path, caplog):
    settings.KNOXCALL_MASTER_KEY = []
    settings.DATA_DIR = tmp_path
    first = cipher.keyring().current_id
    path = tmp_path / "master.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert "generated a development master key" in caplog.text
    cipher._keyring_for.cache_clear()
    assert cipher.keyring().current_id == first


def test_the_system_check_refuses_a_missing_key_when_debug_is_off(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = "x" * 50
    settings.ALLOWED_HOSTS = ["example.com"]
    settings.KNOXCALL_MASTER_KEY = []
    assert "knoxcall.E003" in [e.id for e in check_production_defaults(None)]
    settings.KNOXCALL_MASTER_KEY = ["not base64!"]
    assert "knoxcall.E004" in [e.id for e in check_production_defaults(None)]
    settings.KNOXCALL_MASTER_KEY = [cipher.generate_key()]
    assert not {"knoxcall.E003", "knoxcall.E004"} & {e.id for e in check_production_defaults(None)}
