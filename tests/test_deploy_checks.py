"""`manage.py check --deploy` is clean with production settings, and refuses development defaults."""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def check(tmp_path, deploy: bool, **env) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG")
    }
    command = [sys.executable, "manage.py", "check", *(["--deploy"] if deploy else [])]
    return subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, "KNOXCALL_DATA_DIR": str(tmp_path), "DEBUG": "false", **env},
    )


def test_it_is_clean_with_production_settings(tmp_path):
    done = check(
        tmp_path,
        True,
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="gw.example.com",
        KNOXCALL_MASTER_KEY=base64.b64encode(os.urandom(32)).decode(),
        SECURE_SSL_REDIRECT="true",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_it_refuses_development_defaults_with_debug_off(tmp_path):
    done = check(tmp_path, False)
    assert done.returncode != 0
    assert "knoxcall.E001" in done.stderr and "knoxcall.E003" in done.stderr
