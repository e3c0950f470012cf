"""schemathesis against /v1/openapi.json of the live server: every operation, as an Administrator.

A bounded number of generated examples per operation; no answer may be a 5xx or break its documented schema.
"""

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from environments.audit import SYSTEM
from environments.services import api_key_create

MAX_EXAMPLES = 8


@pytest.fixture
def live_api(gateway):
    _, raw_key = api_key_create(actor=SYSTEM, name="schemathesis", role="administrator")
    return gateway.url, {"Authorization": f"Bearer {raw_key}"}


def load_schema(base_url: str, headers: dict):
    raw = httpx.get(f"{base_url}/v1/openapi.json", headers=headers, timeout=10).raise_for_status().json()
    return schemathesis.openapi.from_dict(raw)


def check_operation(operation, base_url: str, headers: dict) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        case.call_and_validate(
            base_url=base_url, headers=headers, checks=[not_a_server_error, response_schema_conformance]
        )

    run()


def test_it_answers_every_operation_within_its_schema(live_api):
    # The pytest plugin's lazy fixture loader does not run on this pytest; driving Hypothesis per operation
    # is the same test, and reports every failing operation at once.
    base_url, headers = live_api
    failures, count = {}, 0
    for result in load_schema(base_url, headers).get_all_operations():
        operation = result.ok()
        count += 1
        try:
            check_operation(operation, base_url, headers)
        except Exception as exc:  # noqa: BLE001 - collected, reported below
            failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:1500]}"
    print(f"schemathesis: {count} operations, {MAX_EXAMPLES} examples at most each")
    assert count >= 40
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
