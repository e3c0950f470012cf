"""The data directory is 0700 and the database and master key files in it 0600, from the first run on."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

# What a first run does to the data dir: migrate (SQLite in WAL mode), then the master key is generated.
FIRST_RUN = """
import json, os, stat
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from secrets_vault.cipher import keyring
call_command("migrate", verbosity=0)
keyring()
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM django_migrations")  # keeps the WAL and shared memory open
names = ["", "knoxcall.sqlite3", "knoxcall.sqlite3-wal", "knoxcall.sqlite3-shm", "master.key"]
modes = {n: oct(stat.S_IMODE(os.stat(settings.DATA_DIR / n).st_mode)) for n in names}
print(json.dumps(modes))
"""


def mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_first_run_creates_a_private_data_dir_even_with_a_permissive_umask(tmp_path):
    data_dir = tmp_path / "fresh" / "var"
    env = {**os.environ, "KNOXCALL_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "knoxcall.settings"}
    for name in ("DATABASE_URL", "KNOXCALL_MASTER_KEY"):  # the embedded profile: SQLite and a generated key
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", FIRST_RUN],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    modes = json.loads(result.stdout.strip().splitlines()[-1])
    assert modes == {
        "": "0o700",
        "knoxcall.sqlite3": "0o600",
        "knoxcall.sqlite3-wal": "0o600",
        "knoxcall.sqlite3-shm": "0o600",
        "master.key": "0o600",
    }


@pytest.mark.django_db
def test_the_tests_own_data_dir_and_database_are_private():
    assert mode(settings.DATA_DIR) == 0o700
    if connection.vendor != "sqlite":
        pytest.skip("the database is PostgreSQL here: no database file in the data dir")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    database = connection.settings_dict["NAME"]
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{database}{suffix}").exists():
            assert mode(f"{database}{suffix}") == 0o600, suffix
