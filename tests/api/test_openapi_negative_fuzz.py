"""schemathesis with negative data over /v1 of the live server: invalid input never answers 5xx.

Every operation, with invalid bodies, query strings and path ids (schemathesis's NEGATIVE mode), once with
generated path ids and once with them pinned to objects that exist, so the write paths validate the body.
Bounded (a few derandomized examples per operation) to stay well under a minute in CI.
"""

import json
import time

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from .test_openapi_schemathesis import live_api, load_schemas, seed  # noqa: F401 - live_api is a fixture

MAX_EXAMPLES = 4


def fuzz_operation(operation, base_url: str, headers: dict) -> int:
    calls = []

    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        calls.append(case)
        case.call_and_validate(base_url=base_url, headers=headers, checks=[not_a_server_error])

    run()
    return len(calls)


def test_it_never_answers_5xx_to_invalid_input(live_api):  # noqa: F811
    base_url, headers = live_api
    failures, operations, calls = {}, 0, 0
    started = time.monotonic()
    for schema in load_schemas(base_url, headers, seed()):
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            seed()
            try:
                calls += fuzz_operation(operation, base_url, headers)
            except Exception as exc:  # noqa: BLE001 - collected, reported below
                failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:1500]}"
    elapsed = time.monotonic() - started
    print(f"schemathesis negative: {operations} operation runs, {calls} calls in {elapsed:.1f} s")
    assert operations >= 80
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())


# --- hostile bodies: what schemathesis does not generate (depth, size, bytes), on every write operation ----
VALID_BODIES = {
    ("POST", "/v1/environments"): {"name": "fuzzed"},
    ("PATCH", "/v1/environments/{env}"): {"description": "d"},
    ("POST", "/v1/clients"): {"name": "fuzzed", "ip_address": "10.9.0.1"},
    ("PATCH", "/v1/clients/{client}"): {"description": "d"},
    ("POST", "/v1/api-keys"): {"name": "fuzzed"},
    ("POST", "/v1/routes"): {"name": "Fuzzed", "target_base_url": "https://api.example.com"},
    ("PATCH", "/v1/routes/{route}"): {"description": "d"},
    ("PUT", "/v1/routes/{route}/environments/{env}"): {"timeout_ms": 1000},
    ("POST", "/v1/secrets"): {"name": "FUZZED", "value": "v"},
    ("PATCH", "/v1/secrets/{secret}"): {"description": "d"},
    ("PUT", "/v1/secrets/{secret}/value"): {"value": "v", "environment": "staging"},
    ("POST", "/v1/alert-rules"): {"name": "fuzzed", "type": "latency", "threshold": 1},
    ("PATCH", "/v1/alert-rules/{rule}"): {"threshold": 2},
}


def nested_text(depth: int) -> str:
    return '{"k":' * depth + "1" + "}" * depth


@st.composite
def hostile_bodies(draw) -> tuple[str, str, bytes, dict]:
    """A valid body of one write operation with one field made hostile, or a hostile body as a whole."""
    (method, path), valid = draw(st.sampled_from(sorted(VALID_BODIES.items())))
    field = draw(st.sampled_from(sorted(valid) + ["inject_body_json", "description"]))
    kind = draw(st.sampled_from(["deep-field", "deep-body", "huge", "bytes", "odd-text"]))
    prefix = json.dumps({k: v for k, v in valid.items() if k != field})[:-1]
    prefix += ", " if len(prefix) > 1 else ""
    if kind == "deep-field":
        body = f'{prefix}"{field}": {nested_text(draw(st.integers(20, 5000)))}}}'.encode()
    elif kind == "deep-body":
        body = nested_text(draw(st.integers(1000, 200_000))).encode()
    elif kind == "huge":
        body = f'{prefix}"{field}": "{"x" * draw(st.integers(2_000_000, 3_000_000))}"}}'.encode()
    elif kind == "bytes":
        body = prefix.encode() + f'"{field}": "'.encode() + draw(st.binary(min_size=1, max_size=64)) + b'"}'
    else:
        text = draw(st.text(st.characters(codec=None, categories=None), min_size=1, max_size=32))
        value = draw(st.sampled_from([text, {"k": text}, {text: text}, [text]]))
        body = f"{prefix}{json.dumps(field)}: {json.dumps(value)}}}".encode()
    content_type = draw(st.sampled_from(["application/json", "application/json; charset=utf-8"]))
    return method, path, body, {"Content-Type": content_type}


def test_it_never_answers_5xx_to_hostile_bodies(live_api):  # noqa: F811
    base_url, headers = live_api
    ids = seed()
    answered = []

    @given(hostile=hostile_bodies())
    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(hostile) -> None:
        method, template, body, extra = hostile
        path = template
        for name, value in ids.items():
            path = path.replace("{" + name + "}", value)
        response = httpx.request(
            method, base_url + path, content=body, headers={**headers, **extra}, timeout=30
        )
        answered.append(response.status_code)
        assert response.status_code < 500, (method, path, body[:200], response.text[:500])
        answer = response.json()
        assert answer["status"] == response.status_code if response.status_code >= 400 else "data" in answer

    run()
    print(f"hostile bodies: {len(answered)} calls, statuses {sorted(set(answered))}")
