"""Starting up: importing the settings writes nothing, and the command line reports refusals in one line."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_settings_creates_no_directory(tmp_path):
    data_dir = tmp_path / "data"
    env = {**os.environ, "KNOXCALL_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-c", "import knoxcall.settings"], cwd=ROOT, env=env, check=True, timeout=60
    )
    assert not data_dir.exists()
    subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    assert data_dir.is_dir() and (data_dir.stat().st_mode & 0o777) == 0o700


def test_the_command_line_reports_a_refusal_in_one_line_without_a_traceback(tmp_path):
    env = {**os.environ, "KNOXCALL_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    command = [
        sys.executable,
        "manage.py",
        "knoxcall",
        "apikey",
        "create",
        "--name",
        "x",
        "--role",
        "viewer",
        "--expires-at",
        "2001-01-01T00:00:00Z",
    ]
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "expires_at: Give a moment in the future" in result.stderr
    assert "Traceback" not in result.stderr
