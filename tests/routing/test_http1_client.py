"""The proxy's own HTTP/1.1 upstream client (routing/proxy/http1.py) against a scripted raw upstream.

The upstream is a real TCP server on 127.0.0.1 that records the bytes it received and answers each request
with the bytes a test scripts, so framing the aiohttp-based test upstream would never produce (HEAD with a
length, interim 1xx answers, a body ended by close, bytes nobody asked for) can be sent on purpose.
"""

import asyncio
import contextlib
import gc

import pytest

from routing.proxy.http1 import Http1Client, _split
from routing.proxy.upstream import Timeouts, UpstreamBodyError, UpstreamError

FAST = Timeouts(connect=2, read=2, total=5)
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
CLOSE = None  # in a script, right after an answer: close the connection once it is written
HANG = b""  # as an answer: say nothing and keep the connection open


class ScriptedUpstream:
    """Answers the n-th request on any connection with answers[n] (bytes, HANG, or CLOSE: close instead of
    answering; CLOSE right after an answer closes once that answer is written)."""

    def __init__(self, answers: list[bytes | None]) -> None:
        self.answers = list(answers)
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> "ScriptedUpstream":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                body = await reader.readexactly(length) if length else b""
                if b"transfer-encoding: chunked" in head.lower():
                    body = await reader.readuntil(b"0\r\n\r\n")
                self.requests.append(head + body)
                answer = self.answers.pop(0)
                if answer is CLOSE:
                    break
                if answer == HANG:
                    await reader.read()
                    break
                writer.write(answer)
                await writer.drain()
                if self.answers and self.answers[0] is CLOSE:
                    self.answers.pop(0)
                    break
        writer.close()


def call(answers, exchange):
    """Run `exchange(client, upstream)` against a scripted upstream; returns what it returned."""

    async def main():
        async with ScriptedUpstream(answers) as upstream:
            client = Http1Client()
            try:
                return await exchange(client, upstream), upstream
            finally:
                await client.close()

    return asyncio.run(main())


async def fetch(client, url, method="GET", headers=(), body=None, timeouts=FAST):
    response = await client.send(method, url, [(b"host", b"upstream"), *headers], body, timeouts)
    try:
        return response.status, response.headers, b"".join([chunk async for chunk in response.chunks()])
    finally:
        await response.release()


async def refusal(client, url, **kwargs) -> str:
    """The gateway error code a call that must fail raised."""
    with pytest.raises(UpstreamError) as refused:
        await fetch(client, url, **kwargs)
    return refused.value.code


@pytest.fixture(autouse=True)
def loopback_upstreams(settings):
    settings.UPSTREAM_ALLOWED_HOSTS = ["127.0.0.1"]


def test_sequential_calls_share_one_keep_alive_connection_and_send_exactly_the_given_headers():
    async def exchange(client, upstream):
        return [await fetch(client, upstream.url + "/a/b?x=1", headers=[(b"x-one", b"1")]) for _ in range(3)]

    results, upstream = call([OK, OK, OK], exchange)

    assert [status for status, _, _ in results] == [200, 200, 200]
    assert [body for _, _, body in results] == [b"ok"] * 3
    assert upstream.connections == 1
    assert upstream.requests[0] == b"GET /a/b?x=1 HTTP/1.1\r\nhost: upstream\r\nx-one: 1\r\n\r\n"


def test_a_finished_exchange_leaves_no_reference_cycle_for_the_collector():
    """Every exchange used to be a cycle (exchange -> parser -> its bound callbacks -> exchange) that only
    the cyclic GC freed: at load, gen-0 passes of about 0.5 ms each stopped the event loop 16 times a second.
    Released exchanges must be freed by reference counting alone."""

    async def exchange(client, upstream):
        return [await fetch(client, upstream.url + "/") for _ in range(20)]

    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds unreachable is kept in gc.garbage, not freed
    try:
        results, _ = call([OK] * 20, exchange)
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage if type(o).__module__ == "routing.proxy.http1"]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()

    assert [status for status, _, _ in results] == [200] * 20
    assert left == []


def test_a_head_answer_with_a_length_has_no_body_and_the_connection_stays_usable():
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n"

    async def exchange(client, upstream):
        return await fetch(client, upstream.url + "/", method="HEAD"), await fetch(client, upstream.url + "/")

    (first, second), upstream = call([head, OK], exchange)

    assert first[0] == 200 and first[2] == b""
    assert second[2] == b"ok"
    assert upstream.connections == 1


def test_interim_answers_are_skipped_and_their_fields_are_not_the_responses():
    answer = b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + OK.replace(
        b"\r\n\r\n", b"\r\nx-final: 1\r\n\r\n"
    )

    (status, headers, body), _ = call([answer], lambda client, upstream: fetch(client, upstream.url + "/"))

    assert status == 200 and body == b"ok"
    assert [name for name, _ in headers] == [b"content-length", b"x-final"]


def test_a_body_without_length_ends_at_close_and_that_connection_is_not_reused():
    answers = [b"HTTP/1.1 200 OK\r\n\r\nuntil-close", CLOSE, OK]

    async def exchange(client, upstream):
        return await fetch(client, upstream.url + "/"), await fetch(client, upstream.url + "/")

    (first, second), upstream = call(answers, exchange)

    assert first[2] == b"until-close" and second[2] == b"ok"
    assert upstream.connections == 2


def test_a_chunked_answer_streams_and_a_connection_close_answer_is_not_reused():
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    chunked = head + b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"

    async def exchange(client, upstream):
        return await fetch(client, upstream.url + "/"), await fetch(client, upstream.url + "/")

    (first, second), upstream = call([chunked, OK], exchange)

    assert first[2] == b"abcde" and second[2] == b"ok"
    assert upstream.connections == 2


def test_a_streamed_request_body_of_unknown_length_goes_chunked():
    async def body():
        yield b"hello "
        yield b"world"

    async def exchange(client, upstream):
        return await fetch(client, upstream.url + "/up", method="POST", body=body())

    (status, _, _), upstream = call([OK], exchange)

    assert status == 200
    assert b"transfer-encoding: chunked\r\n" in upstream.requests[0]
    assert upstream.requests[0].endswith(b"6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n")


def test_a_post_without_a_body_states_a_zero_length():
    (status, _, _), upstream = call(
        [OK], lambda client, upstream: fetch(client, upstream.url + "/", method="POST")
    )

    assert status == 200
    assert b"content-length: 0\r\n" in upstream.requests[0]


def test_a_header_value_with_a_line_break_is_never_sent():
    async def exchange(client, upstream):
        with pytest.raises(ValueError):
            await fetch(client, upstream.url + "/", headers=[(b"x-a", b"1\r\nGET /smuggled HTTP/1.1")])
        return await fetch(client, upstream.url + "/")

    (status, _, _), upstream = call([OK], exchange)

    assert status == 200
    assert len(upstream.requests) == 1 and b"smuggled" not in upstream.requests[0]


def test_a_connection_closed_before_any_answer_is_upstream_unavailable():
    code, _ = call([CLOSE], lambda client, upstream: refusal(client, upstream.url + "/"))

    assert code == "upstream_unavailable"


def test_no_answer_within_the_read_timeout_is_upstream_timeout():
    quick = Timeouts(connect=1, read=0.3, total=1)
    code, _ = call([HANG], lambda client, upstream: refusal(client, upstream.url + "/", timeouts=quick))

    assert code == "upstream_timeout"


def test_a_body_cut_short_by_the_upstream_is_a_body_error():
    short = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly-this"

    async def exchange(client, upstream):
        response = await client.send("GET", upstream.url + "/", [(b"host", b"u")], None, FAST)
        received = []
        with pytest.raises(UpstreamBodyError):
            async for chunk in response.chunks():
                received.append(chunk)
        await response.release()
        return b"".join(received)

    received, _ = call([short, CLOSE], exchange)

    assert received == b"only-this"


def test_a_refused_port_is_upstream_unavailable():
    async def exchange(client, upstream):
        url = upstream.url
        upstream.server.close()
        await upstream.server.wait_closed()
        return await refusal(client, url + "/")

    code, _ = call([], exchange)

    assert code == "upstream_unavailable"


def test_a_literal_address_the_allow_list_does_not_cover_is_refused_before_connecting(settings):
    settings.UPSTREAM_ALLOWED_HOSTS = []

    code, upstream = call([OK], lambda client, upstream: refusal(client, upstream.url + "/"))

    assert code == "upstream_forbidden"
    assert upstream.connections == 0


@pytest.mark.parametrize(
    ("url", "origin", "target"),
    [
        ("http://a.example:8080/base/p?q=1", ("http", "a.example", 8080), "/base/p?q=1"),
        ("https://a.example?q=1", ("https", "a.example", 443), "/?q=1"),
        ("http://[::1]:9/x", ("http", "::1", 9), "/x"),
        ("http://[::1]", ("http", "::1", 80), "/"),
    ],
)
def test_urls_split_into_origin_and_request_target(url, origin, target):
    assert _split(url) == (origin, target)
