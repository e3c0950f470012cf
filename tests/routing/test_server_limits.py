"""The default server, started as `make run` starts it: header limits (431), a head deadline (408), flat
memory for a caller that does not read, no request body on disk, JSON for the gateway's framing refusals."""

import json
import socket
import time

import psutil
import pytest

from core.audit import SYSTEM
from routing.services import route_create
from tests.support.access import allow_local_callers
from tests.support.gateway_process import GatewayProcess

HEAD = b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Knoxcall-Route: demo\r\n"


@pytest.fixture
def demo_route(environments, upstream):
    return allow_local_callers(
        route_create(actor=SYSTEM, name="Demo", slug="demo", target_base_url=upstream.url)
    )


@pytest.fixture
def start_gateway():
    started: list[GatewayProcess] = []

    def start(**env: str) -> GatewayProcess:
        started.append(GatewayProcess(env).start())
        return started[-1]

    yield start
    for gateway in started:
        gateway.stop()


def exchange(port: int, payload: bytes, *, pieces: int = 65536) -> bytes:
    """Send payload in pieces, stopping if the server closes; then read what it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            for start in range(0, len(payload), pieces):
                sock.sendall(payload[start : start + pieces])
        except OSError:
            pass  # the server answered and closed before the caller finished: what a limit should do
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except OSError:
            pass
        return received


def read_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length, however the server split its writes."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def json_error(answer: bytes) -> dict:
    """The gateway's JSON error body of a raw answer (the server's own refusals are JSON too)."""
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), head
    return json.loads(body)


def test_it_answers_431_past_the_header_count_limit(demo_route, upstream, start_gateway):
    gateway = start_gateway(KNOXCALL_MAX_HEADERS="20")
    fields = b"".join(b"X-F-%d: v\r\n" % i for i in range(20))
    answer = exchange(gateway.port, HEAD + fields + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert json_error(answer)["code"] == "header_fields_too_large"
    assert upstream.received == []
    fine = exchange(gateway.port, HEAD + fields[:100] + b"Connection: close\r\n\r\n")
    assert fine.startswith(b"HTTP/1.1 200 ")


def test_it_answers_431_to_a_huge_header_block_before_reading_it_all(demo_route, upstream, start_gateway):
    gateway = start_gateway()
    process = psutil.Process(gateway.process.pid)
    before = process.memory_info().rss
    block = HEAD + b"".join(b"X-Big-%d: %s\r\n" % (i, b"v" * 8000) for i in range(8192))  # 64 MiB
    answer = exchange(gateway.port, block)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert process.memory_info().rss - before < 32 * 1024 * 1024
    assert upstream.received == []


def test_it_answers_408_when_the_head_never_ends(demo_route, upstream, start_gateway):
    gateway = start_gateway(KNOXCALL_HEADER_TIMEOUT="0.5")
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=30) as sock:
        sock.sendall(HEAD + b"X-Slow: ")  # a slow-loris caller: the head is never finished
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert json_error(answer)["code"] == "request_timeout"
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=30) as silent:
        assert silent.recv(65536) == b""  # a connection that never sends a byte is closed too
    assert upstream.received == []


def test_it_refuses_ambiguous_framing_with_json_and_closes(demo_route, upstream, start_gateway):
    gateway = start_gateway()
    # httptools passes a coding before chunked on to the application; upstream would get another framing.
    request = (
        HEAD.replace(b"GET", b"POST") + b"Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    )
    answer = exchange(gateway.port, request)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"connection: close" in head.lower()
    assert json.loads(body)["code"] == "bad_request"
    assert upstream.received == []


def test_it_keeps_memory_flat_for_a_caller_that_does_not_read(demo_route, upstream, start_gateway):
    gateway = start_gateway()
    process = psutil.Process(gateway.process.pid)
    before = process.memory_info().rss
    readers = []
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=30)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(HEAD.replace(b"/x", b"/bytes/100000000") + b"\r\n")
        readers.append(sock)
    try:
        time.sleep(3)  # long enough for an unbounded server to buffer most of the 300 MB
        grown = process.memory_info().rss - before
    finally:
        for sock in readers:
            sock.close()
    assert grown < 64 * 1024 * 1024


def test_it_never_writes_a_request_body_to_disk(demo_route, upstream, start_gateway, tmp_path):
    spool = tmp_path / "tmp"
    spool.mkdir()
    gateway = start_gateway(TMPDIR=str(spool), KNOXCALL_MAX_BODY_BYTES=str(64 * 1024 * 1024))
    body = b"x" * (32 * 1024 * 1024)
    head = HEAD.replace(b"GET", b"POST") + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    answer = exchange(gateway.port, head + body)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert list(spool.iterdir()) == []
    assert len(upstream.received[0].body) == len(body)


def test_it_times_each_head_from_its_own_start_on_a_kept_alive_connection(
    demo_route, upstream, start_gateway
):
    gateway = start_gateway(KNOXCALL_HEADER_TIMEOUT="0.5")
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=30) as sock:
        sock.sendall(HEAD + b"\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        time.sleep(0.3)  # the connection's timer was set at connect: it fires in the middle of the next head
        began = time.monotonic()
        sock.sendall(HEAD + b"X-Slow: ")
        answer = sock.recv(65536)
        waited = time.monotonic() - began
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert waited >= 0.45  # the second head had its own half second
