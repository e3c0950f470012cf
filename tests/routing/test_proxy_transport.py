"""What crosses the proxy and what does not: headers, client IP, bodies, paths, failures, request logs."""

import hashlib
import socket
import time

import httpx
import pytest

from analytics import recorder
from analytics.models import RequestLog
from core.audit import SYSTEM
from environments.services import client_create
from routing.services import route_client_assign, route_create
from tests.support.access import allow_local_callers
from tests.support.upstream import echo_json, pattern_bytes


@pytest.fixture
def route(gateway, upstream):
    route = allow_local_callers(
        route_create(actor=SYSTEM, name="Demo", slug="demo", target_base_url=upstream.url + "/base")
    )
    gateway.reload()
    return route


def raw_request(gateway, request: bytes, read_timeout: float = 5.0) -> bytes:
    """Send bytes on a fresh connection and read until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", gateway.server.port), timeout=read_timeout) as sock:
        sock.sendall(request)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


def test_it_strips_hop_by_hop_and_connection_listed_request_headers(gateway, upstream, route):
    gateway.get(
        "/x",
        headers={
            "Connection": "keep-alive, X-Private-Hop",
            "X-Private-Hop": "1",
            "Keep-Alive": "timeout=5",
            "Proxy-Authorization": "Basic Zm9vOmJhcg==",
            "TE": "trailers",
            "Trailer": "X-T",
            "Proxy-Connection": "keep-alive",
            "Upgrade": "websocket",
            "X-End-To-End": "kept",
        },
    )
    received = upstream.complete[0]
    names = {name.lower() for name, _ in received.headers}
    for hop in (
        "x-private-hop",
        "keep-alive",
        "proxy-authorization",
        "te",
        "trailer",
        "proxy-connection",
        "upgrade",
    ):
        assert hop not in names
    assert received.header("x-end-to-end") == "kept"


def test_it_strips_hop_by_hop_and_connection_listed_response_headers(gateway, upstream, route):
    response = gateway.get("/hop")
    assert response.status_code == 200
    for hop in ("x-secret-hop", "keep-alive", "proxy-authenticate", "upgrade", "trailer"):
        assert hop not in response.headers
    assert response.headers["x-end-to-end"] == "kept"


def test_it_sends_the_target_host_and_forwarding_headers(gateway, upstream, route):
    gateway.get("/x", headers={"Host": "gateway.example"})
    received = upstream.complete[0]
    assert received.header("host") == f"127.0.0.1:{upstream.port}"
    assert received.header("x-forwarded-host") == "gateway.example"
    assert received.header("x-forwarded-proto") == "http"
    assert received.header("via").startswith("1.1 knoxcall-")


def test_it_ignores_forwarded_for_from_an_untrusted_peer(gateway, upstream, route, settings):
    settings.TRUSTED_PROXIES = []
    gateway.get(
        "/x",
        headers={
            "X-Forwarded-For": "203.0.113.9",
            "X-Real-IP": "203.0.113.9",
            "Forwarded": "for=203.0.113.9",
        },
    )
    received = upstream.complete[0]
    assert received.all("x-forwarded-for") == ["127.0.0.1"]
    assert received.header("x-real-ip") is None and received.header("forwarded") is None
    recorder.flush()
    assert RequestLog.objects.get().client_ip == "127.0.0.1"


def test_it_honours_forwarded_for_from_a_trusted_proxy(gateway, upstream, route, settings, environments):
    settings.TRUSTED_PROXIES = ["127.0.0.0/8", "10.0.0.0/8"]
    client = client_create(actor=SYSTEM, name="office", ip_address="203.0.113.0/24")
    route_client_assign(actor=SYSTEM, route=route, environment=environments["production"], client=client)
    gateway.reload()
    gateway.get("/x", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.1.2.3"})
    assert upstream.complete[0].all("x-forwarded-for") == ["203.0.113.9"]
    recorder.flush()
    assert RequestLog.objects.get().client_ip == "203.0.113.9"


def test_it_refuses_a_body_over_the_cap_by_content_length(gateway, upstream, route, settings):
    settings.PROXY_MAX_BODY_BYTES = 1024
    response = gateway.request("POST", "/upload", content=b"x" * 2048)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert upstream.received == []


def test_it_refuses_a_chunked_body_growing_past_the_cap(gateway, upstream, route, settings):
    settings.PROXY_MAX_BODY_BYTES = 256 * 1024

    def body():
        for _ in range(16):
            yield b"y" * 32 * 1024

    response = gateway.request("POST", "/upload", content=body())
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    time.sleep(0.2)
    assert upstream.complete == []  # it may have seen a start, never a complete request


def test_it_answers_502_when_the_upstream_refuses_connections(gateway, upstream):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    allow_local_callers(
        route_create(
            actor=SYSTEM, name="Gone", slug="gone", target_base_url=f"http://127.0.0.1:{closed_port}"
        )
    )
    gateway.reload()
    response = gateway.get("/x", route="gone")
    assert response.status_code == 502
    assert response.json()["code"] == "upstream_unavailable"


def test_it_answers_504_when_the_headers_take_too_long(gateway, upstream):
    allow_local_callers(
        route_create(actor=SYSTEM, name="Slow", slug="slow", target_base_url=upstream.url, timeout_ms=400)
    )
    gateway.reload()
    response = gateway.get("/sleep/3000", route="slow")
    assert response.status_code == 504
    assert response.json()["code"] == "upstream_timeout"


def test_it_ends_a_drip_feeding_upstream_at_the_total_deadline(gateway, upstream):
    allow_local_callers(
        route_create(actor=SYSTEM, name="Drip", slug="drip", target_base_url=upstream.url, timeout_ms=1000)
    )
    gateway.reload()
    started = time.monotonic()
    with (
        pytest.raises(httpx.HTTPError),
        gateway.client.stream("GET", "/drip", headers={"x-knoxcall-route": "drip"}) as response,
    ):
        assert response.status_code == 200
        for _ in response.iter_raw():
            pass
    assert time.monotonic() - started < 30  # ended by the deadline, not by the upstream's 120 s of drip
    recorder.flush()
    assert RequestLog.objects.get(route_slug="drip").error_code == "upstream_reset"


def test_it_reports_a_mid_body_reset_as_a_failure(gateway, upstream, route):
    with pytest.raises(httpx.HTTPError):
        gateway.get("/reset")
    recorder.flush()
    log = RequestLog.objects.get(path="/reset")
    assert log.status == 200 and log.error_code == "upstream_reset"


def test_it_streams_two_mebibytes_both_ways(gateway, upstream, route):
    size = 2 * 1024 * 1024
    payload = pattern_bytes(size)

    def chunks():
        for i in range(0, size, 100_000):
            yield payload[i : i + 100_000]

    sent = gateway.request("POST", "/upload", content=chunks())
    assert echo_json(sent)["body_length"] == size
    assert echo_json(sent)["body_sha256"] == hashlib.sha256(payload).hexdigest()
    fetched = gateway.get(f"/bytes/{size}")
    assert len(fetched.content) == size
    assert hashlib.sha256(fetched.content).hexdigest() == hashlib.sha256(payload).hexdigest()


@pytest.mark.parametrize(
    "path",
    [
        "/../admin/",
        "/a/../../etc/passwd",
        "/%2e%2e/admin/",
        "/a/%2E%2e/x",
        "/a%2f..%2fx",
        "/..;/admin",
        "/a/%252e%252e/x",
        "/a/./b",
        "/a\\..\\b",
    ],
)
def test_it_refuses_paths_that_climb_out_of_the_base_path(gateway, upstream, route, path):
    response = raw_request(
        gateway,
        f"GET {path} HTTP/1.1\r\nHost: x\r\nx-knoxcall-route: demo\r\nConnection: close\r\n\r\n".encode(),
    )
    assert response.startswith(b"HTTP/1.1 400"), response[:200]
    assert b'"bad_request"' in response
    assert upstream.received == []


def test_it_appends_the_path_verbatim(gateway, upstream, route):
    gateway.get("/a%20b//c;v=1/%7Euser")
    assert upstream.complete[0].path == "/base/a%20b//c;v=1/%7Euser"


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        b"Content-Length: 5\r\nContent-Length: 6\r\n",
        b"Content-Length: -5\r\n",
        b"Content-Length: 5x\r\n",
    ],
)
def test_it_refuses_ambiguous_framing_and_closes(gateway, upstream, route, framing):
    response = raw_request(
        gateway,
        b"POST /x HTTP/1.1\r\nHost: x\r\nx-knoxcall-route: demo\r\n" + framing + b"\r\nhello0\r\n\r\n",
    )
    assert response.startswith(b"HTTP/1.1 400"), response[:200]
    assert upstream.received == []


def test_it_writes_a_request_log_row_for_every_call(gateway, upstream, route):
    answers = [
        gateway.get("/ok"),
        gateway.get("/status/503"),
        gateway.get("/x", route="missing"),
        gateway.get("/x", environment="nowhere"),
    ]
    recorder.flush()
    logs = {log.request_id: log for log in RequestLog.objects.all()}
    assert set(logs) == {answer.headers["x-request-id"] for answer in answers}
    by_status = sorted((log.status, log.error_code, log.environment) for log in logs.values())
    assert by_status == [
        (200, "", "production"),
        (404, "environment_not_found", ""),
        (404, "route_not_found", ""),
        (503, "", "production"),
    ]
    ok = next(log for log in logs.values() if log.status == 200)
    assert (ok.method, ok.path, ok.route_slug, ok.upstream_host) == (
        "GET",
        "/ok",
        "demo",
        f"127.0.0.1:{upstream.port}",
    )
    assert ok.bytes_out > 0 and ok.latency_ms > 0
