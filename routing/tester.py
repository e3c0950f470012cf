"""The Test tab: send one request through the gateway, server-side, and report what came back.

The request goes to the gateway itself, with the route and environment headers, exactly like a caller's; the
browser never sets x-knoxcall headers. "The gateway itself" is KNOXCALL_GATEWAY_URL, or else the address
this very server accepted the console request on (the ASGI scope's `server`, the socket's local address).
Never the Host header: the browser, or whoever forges it, chooses that, and it would aim the server-side
request at any port of this machine.
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

    @classmethod
    def failed(cls, error: str, latency_ms: float = 0.0) -> "TestResult":
        return cls(None, [], "", "", latency_ms, error=error)


NO_GATEWAY_URL = (
    "The console cannot tell this gateway's own address (it is not served over ASGI on a TCP socket): "
    "set KNOXCALL_GATEWAY_URL."
)


def bound_gateway_url(scope: dict | None) -> str | None:
    """The URL of the socket the server accepted this request on, or None (no ASGI scope, Unix socket)."""
    server = (scope or {}).get("server")
    if not server or server[1] is None:
        return None
    host, port = server
    host = f"[{host}]" if ":" in host else host
    return f"{scope.get('scheme', 'http')}://{host}:{port}"


def _readable(text: str) -> str:
    """JSON bodies indented for reading; anything else as it came."""
    try:
        return json.dumps(json.loads(text), indent=2)
    except ValueError:
        return text


def send_test_request(
    *,
    gateway_url: str,
    route_slug: str,
    environment: str,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: str,
) -> TestResult:
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
        status=response.status_code,
        headers=list(response.headers.items()),
        body=text,
        request_id=response.headers.get("x-request-id", ""),
        latency_ms=round(latency, 1),
        truncated=len(response.content) > MAX_BODY_SHOWN,
    )
