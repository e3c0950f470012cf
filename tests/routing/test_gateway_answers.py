"""Every answer the gateway makes itself is JSON with a code, and it never repeats an upstream's copy of its
own headers: odd headers, deeply nested bodies, unknown WebSocket paths and its own unexpected failures."""

import gc
import json
import logging
import socket
import time

import pytest

from core.audit import SYSTEM
from routing.proxy import consumer
from routing.proxy.headers import invalid_header
from routing.services import route_create
from tests.support.access import allow_local_callers


@pytest.fixture
def route(gateway, upstream):
    route = allow_local_callers(
        route_create(
            actor=SYSTEM,
            name="Demo",
            slug="demo",
            target_base_url=upstream.url,
            inject_body_json={"injected": True},
            rate_limit_enabled=True,
            rate_limit_requests=1000,
            rate_limit_window_sec=60,
        )
    )
    gateway.reload()
    return route


def raw_request(port: int, request: bytes) -> bytes:
    """Send bytes on a fresh connection and read until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def split_response(raw: bytes) -> tuple[int, dict[str, list[str]], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return int(lines[0].split()[1]), headers, body


def assert_gateway_error(raw: bytes, status: int, code: str) -> dict:
    answer_status, headers, body = split_response(raw)
    assert answer_status == status, raw[:500]
    assert headers["content-type"] == ["application/json"]
    payload = json.loads(body)
    assert payload["code"] == code
    assert payload["status"] == status
    assert headers["x-request-id"] == [payload["request_id"]]
    return payload


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ([(b"x-note", b"a\tb \x80\xff")], None),  # tab, space and obs-text are field content
        ([(b"x-note", b"a\x01b")], b"x-note"),
        ([(b"x-ok", b"1"), (b"x-note", b"a\x7f")], b"x-note"),
        ([(b"x-n@te", b"1")], b"x-n@te"),
        ([(b"x-note\n", b"1")], b"x-note\n"),
    ],
)
def test_it_finds_headers_no_upstream_client_may_send(headers, refused):
    assert invalid_header(headers) == refused


def test_it_never_repeats_the_upstreams_copies_of_gateway_headers(gateway, upstream, route):
    response = gateway.get("/forge", headers={"X-Request-Id": "caller-id-1"}, environment="staging")
    assert response.status_code == 200
    headers = response.headers
    assert headers.get_list("x-request-id") == ["caller-id-1"]
    assert headers.get_list("x-knoxcall-environment") == ["staging"]
    assert "x-knoxcall-route" not in headers
    assert headers.get_list("x-ratelimit-remaining") == ["999"]  # the gateway's figure, not the upstream's
    assert headers.get_list("via")[0] == "1.1 upstream"  # Via is a list every proxy appends to
    assert headers.get_list("via")[-1].startswith("1.1 knoxcall-")


def test_it_refuses_a_deeply_nested_json_body_on_a_body_injecting_route(gateway, upstream, route):
    depth = 100_000
    body = b'{"a":' * depth + b"1" + b"}" * depth
    response = gateway.request("POST", "/x", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert upstream.received == []


def test_it_answers_an_unexpected_failure_with_json_and_logs_the_traceback(
    gateway, upstream, route, monkeypatch, caplog
):
    async def broken(*args, **kwargs):
        raise RuntimeError("a bug in the gateway")

    monkeypatch.setattr(consumer, "enforce_access", broken)
    with caplog.at_level(logging.ERROR, logger="routing.proxy.consumer"):
        response = gateway.get("/x")
    assert response.status_code == 500
    payload = response.json()
    assert payload["code"] == "internal_error"
    assert "a bug" not in payload["error"]  # details stay in the log
    assert payload["request_id"] == response.headers["x-request-id"]
    assert upstream.received == []
    logged = [r for r in caplog.records if payload["request_id"] in r.getMessage()]
    assert logged and logged[0].exc_info[0] is RuntimeError


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def websocket_handshake(path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("path", ["/ws/nope/", "/elsewhere"])
def test_it_refuses_a_websocket_to_an_unknown_path_cleanly(gateway, path):
    captured = Captured()
    server_log = logging.getLogger("uvicorn.error")
    server_log.addHandler(captured)
    try:
        raw = raw_request(gateway.server.port, websocket_handshake(path))
    finally:
        server_log.removeHandler(captured)
    assert split_response(raw)[0] == 403  # websocket.close before accept: a refused handshake
    assert not [r for r in captured.records if r.levelno >= logging.ERROR or r.exc_info]


def test_a_header_with_a_control_character_never_reaches_the_upstream_under_uvicorn(gateway, upstream, route):
    raw = raw_request(
        gateway.server.port,
        b"GET /x HTTP/1.1\r\nHost: a\r\nx-knoxcall-route: demo\r\nX-Note: a\x01b\r\nConnection: close\r\n"
        b"\r\n",
    )
    # Refused by the server's parser before the application runs, and still answered as the gateway's JSON.
    assert_gateway_error(raw, 400, "bad_request")
    assert upstream.received == []


def test_every_answer_has_one_date_and_none_names_the_server_software(gateway, upstream, route):
    proxied = gateway.get("/echo", environment="staging")
    refused = gateway.get("/echo", route="no-such-route")
    console = gateway.get("/healthz", route=None)

    assert proxied.status_code == 200 and refused.status_code == 404 and console.status_code == 200
    for answer in (proxied, refused, console):
        assert len(answer.headers.get_list("date")) == 1
        assert "uvicorn" not in ",".join(answer.headers.get_list("server")).lower()
    assert len(proxied.headers.get_list("server")) == 1  # the upstream's own, passed on


def test_the_gateways_request_ids_are_32_hex_digits_that_grow_with_time():
    ids = [consumer.new_request_id() for _ in range(1000)]

    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert len(set(ids)) == 1000
    # Their clock part never goes back, so the request log's request_id index is appended to, not scattered.
    clock = [i[:13] for i in ids]
    assert clock == sorted(clock)
    assert abs(int(clock[-1], 16) - time.time_ns() // 1000) < 1_000_000  # microseconds of now


def test_start_up_objects_are_kept_out_of_later_collections():
    from routing.proxy import lifecycle

    gc.unfreeze()
    try:
        lifecycle.freeze_startup_objects()
        assert gc.get_freeze_count() > 10_000  # Django, the apps and the tests' modules, at least
    finally:
        gc.unfreeze()
