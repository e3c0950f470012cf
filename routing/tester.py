"""The Test tab: send one request through the gateway, server-side, and report what came back.

The request goes to the gateway's own URL (KNOXCALL_GATEWAY_URL, or the host the console was reached on)
with the route and environment headers, exactly like a caller's; the browser never sets x-knoxcall headers.
"""

import json
import time
from dataclasses import dataclass

import httpx

MAX_BODY_SHOWN = 64 * 1024
TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest test class

    status: int | None
    headers: list[tuple[str, str]]
    body: str
    request_id: str
    latency_ms: float
    error: str = ""
    truncated: bool = False


def _readable(text: str) -> str:
    """JSON bodies indented for reading; anything else as it came."""
    try:
        return json.dumps(json.loads(text), indent=2)
    except ValueError:
        return text


def send_test_request(*, gateway_url: str, route_slug: str, environment: str, method: str, path: str,
                      headers: list[tuple[str, str]], body: str) -> TestResult:
    all_headers = [(k, v) for k, v in headers if not k.lower().startswith("x-knoxcall-")]
    all_headers += [("x-knoxcall-route", route_slug), ("x-knoxcall-environment", environment)]
    started = time.perf_counter()
    try:
        with httpx.Client(base_url=gateway_url, timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = client.request(method, path, headers=all_headers, content=body.encode() or None)
    except httpx.HTTPError as exc:
        latency = (time.perf_counter() - started) * 1000
        return TestResult(None, [], "", "", latency, error=f"The gateway did not answer: {exc}")
    latency = (time.perf_counter() - started) * 1000
    text = _readable(response.content[:MAX_BODY_SHOWN].decode("utf-8", "replace"))
    return TestResult(
        status=response.status_code, headers=list(response.headers.items()), body=text,
        request_id=response.headers.get("x-request-id", ""), latency_ms=round(latency, 1),
        truncated=len(response.content) > MAX_BODY_SHOWN,
    )
