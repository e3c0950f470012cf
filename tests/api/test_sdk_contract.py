"""The official KnoxCall Python SDK (from PyPI, pinned), pointed at our live server, works unchanged.

The SDK runs in a subprocess with only var/sdk/ added to its path, a private HOME (no credentials file is
read) and its autostart interception off, so nothing of it leaks into this test process or .venv.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from core.audit import SYSTEM
from environments.services import api_key_create

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENT = ROOT / "tests" / "support" / "knoxcall-sdk.txt"
TARGET = ROOT / "var" / "sdk" / "knoxcall-1.2.0"


@pytest.fixture(scope="session")
def sdk_path() -> Path:
    """The SDK that `make test` installed into var/sdk (tests themselves reach nothing but 127.0.0.1)."""
    if not (TARGET / "knoxcall" / "__init__.py").exists():
        from tests.conftest import require_service

        require_service(
            "KnoxCall SDK", f"{TARGET} is missing: `make test` installs it from {REQUIREMENT.name}"
        )
    return TARGET


def run_scenario(sdk: Path, tmp_path: Path, base_url: str, api_key: str, upstream_url: str) -> dict:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(sdk),
        "KNOXCALL_AUTOSTART": "off",
        "KNOXCALL_INTERCEPT": "off",
        "KNOXCALL_NO_INTERACTIVE": "1",
    }
    script = Path(__file__).with_name("sdk_scenario.py")
    result = subprocess.run(
        [sys.executable, str(script), base_url, api_key, upstream_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_it_serves_the_official_sdk_end_to_end(gateway, upstream, sdk_path, tmp_path):
    _, raw_key = api_key_create(actor=SYSTEM, name="sdk", role="administrator")
    seen = run_scenario(sdk_path, tmp_path, gateway.url, raw_key, upstream.url)

    assert seen["environments_before"] == ["production", "development", "staging"]
    assert seen["created_environment"]["name"] == "qa"
    assert "qa" in seen["environments_after"]
    assert seen["route"]["slug"] == "orders-api" and seen["route"]["requires_clients"] is False
    assert seen["secret_created"]["secret_type"] == "api_key"  # stored as sent
    assert (seen["value_qa"]["value_version"], seen["value_qa_again"]["value_version"]) == (1, 2)
    assert {e["environment_name"]: e["value_version"] for e in seen["secret"]["environments"]} == {
        "production": 1,
        "qa": 2,
    }
    assert seen["override_qa"]["overridden_fields"] == ["inject_headers_json", "target_base_url"]
    by_env = {item["environment_name"]: item for item in seen["route_environments"]}
    assert by_env["staging"]["has_override"] is False  # upserted, then deleted: inherits everything again
    assert by_env["qa"]["target_base_url"] == f"{upstream.url}/qa"
    assert seen["route_detail"]["environment_override_count"] == 1
    assert seen["client"]["ip_address"] == "203.0.113.7"
    assert seen["client_detail"]["route_assignments"] == []
    assert seen["client_credentials"][0]["kind"] == "ip"

    assert seen["call"]["status"] == 200
    received = upstream.complete[-1]
    assert (received.path, received.query) == ("/qa/orders/42", "x=1")
    assert received.header("authorization") == "Bearer sdk-canary-qa-2"
    assert [row["request_id"] for row in seen["logs"]["data"]] == [seen["call"]["request_id"]]
    assert seen["logs"]["meta"]["next_cursor"] is None
    assert seen["log"]["environment"] == "qa"
    actions = {entry["action"] for entry in seen["audit"]["data"]}
    assert {"create", "update", "override"} <= actions
    assert seen["account"]["slug"] == "self-hosted"
    assert "sdk-canary" not in json.dumps({k: v for k, v in seen.items() if k != "call"})


def test_it_keeps_an_sdk_upserted_target_when_a_raw_patch_changes_another_field(
    gateway, sdk_path, tmp_path, upstream
):
    _, raw_key = api_key_create(actor=SYSTEM, name="sdk", role="administrator")
    run_scenario(sdk_path, tmp_path, gateway.url, raw_key, upstream.url)  # upserts qa's target with the SDK
    answer = httpx.patch(
        f"{gateway.url}/v1/routes/orders-api/environments/qa",
        json={"rate_limit_enabled": True},
        headers={"Authorization": f"Bearer {raw_key}"},
        timeout=10,
    )
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert data["target_base_url"] == f"{upstream.url}/qa"
    assert data["changed_fields"] == ["rate_limit_enabled"]
