"""uvicorn's httptools protocol with the limits it lacks: header block size, header count, header time.

httptools (llhttp) is the only parser the framing corpus (tests/framing/) found refusing everything nginx
refuses, but uvicorn puts no bound on what it buffers before the headers end: 300 MiB of headers were
accepted without an API key. This subclass answers 431 once the request line and header block pass
KNOXCALL_MAX_HEADER_BYTES or the fields pass KNOXCALL_MAX_HEADERS, and 408 when the head is not complete
within KNOXCALL_HEADER_TIMEOUT (a slow-loris caller), then closes the connection. `make run` starts uvicorn
with `--http knoxcall.lib.http_protocol:LimitedHttpToolsProtocol` (knoxcall/lib/servers.py).
"""

import asyncio
import json
import random

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

REFUSAL_CODES = {400: "bad_request", 408: "request_timeout", 431: "header_fields_too_large"}


class CoalescedWrites:
    """A connection's transport whose writes within one turn of the event loop go out as one.

    uvicorn writes a response's head and then its body: two send() system calls for a small answer, where
    one does (measured with bench/report.py's CPU per call). Writes are held only until the loop's next
    turn, and a close sends what is held first, so nothing is reordered or delayed past the current turn.
    Everything but writing and closing is the transport's own.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self._send_held)
        self._held.append(data)

    def _send_held(self) -> None:
        held = self._held
        if held:
            data = held[0] if len(held) == 1 else b"".join(held)
            held.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._send_held()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


class HeadTooLarge(Exception):
    """Raised from a parser callback: httptools stops parsing and uvicorn calls send_400_response."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    max_head_bytes: int | None = None  # read from settings on the first connection
    max_headers: int = 100
    head_timeout: float = 10.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if LimitedHttpToolsProtocol.max_head_bytes is None:
            from django.conf import settings

            cls = LimitedHttpToolsProtocol
            cls.max_headers = settings.GATEWAY_MAX_HEADERS
            cls.head_timeout = settings.GATEWAY_HEADER_TIMEOUT
            cls.max_head_bytes = settings.GATEWAY_MAX_HEADER_BYTES
        self._in_head = False
        self._head_bytes = 0  # bytes read while the head is unfinished: bounds what httptools buffers
        self._parsed_head = 0  # request line and fields parsed so far
        self._field_count = 0
        self._refusal = 0  # the status to answer instead of uvicorn's 400, once a limit is hit
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_began = 0.0  # the loop's time when the current head began
        self._started = False  # a request has begun on this connection

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.transport = CoalescedWrites(transport, self.loop)
        # uvicorn times out idle keep-alive connections only after a first response: a connection that
        # never sends a byte would otherwise stay open for good.
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            # Everything this read carried belongs to an unfinished head (a read that also ended a
            # previous body overcounts by that tail, which only ever errs on the safe side).
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse(431, "Request header fields too large.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._parsed_head, self._field_count = True, 0, 0, 0
        self._started = True
        self._head_began = self.loop.time()
        # One timer per connection, not one per request: when it fires during a later head than the one it
        # was set for, it is set again for that head's own deadline (see _head_timed_out).
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._field_count += 1
        self._count(len(name) + len(value) + 4)
        if self._field_count > self.max_headers:
            self._refusal = 431
            raise HeadTooLarge
        super().on_header(name, value)

    def _count(self, size: int) -> None:
        """The head's parsed size, exact even when one read carried the whole head and a body."""
        self._parsed_head += size
        if self._parsed_head > self.max_head_bytes:
            self._refusal = 431
            raise HeadTooLarge

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_head()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request its parser refuses, as the gateway's JSON error instead of text."""
        if self._refusal:
            return self._refuse(self._refusal, "Request header fields too large.")
        self._refuse(400, f"Malformed HTTP request: {msg}")

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._in_head:
            left = self._head_began + self.head_timeout - self.loop.time()
            if left > 0:  # a later request's head, begun after this timer was set
                self._head_timer = self.loop.call_later(left, self._head_timed_out)
            else:
                self._refuse(408, "Request header timeout.")
        elif not self._started:
            self.transport.close()  # connected, never sent a byte

    def _end_head(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _refuse(self, status: int, message: str) -> None:
        """Every answer of the gateway is JSON with a code, including those given before any application
        code runs; the connection is closed, since the rest of the stream cannot be trusted."""
        self._end_head()
        request_id = f"{random.getrandbits(128):032x}"
        error = {"error": message, "code": REFUSAL_CODES[status], "status": status, "request_id": request_id}
        body = json.dumps(error).encode()
        head = b"content-type: application/json\r\nconnection: close\r\nx-request-id: " + request_id.encode()
        head += b"\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n"
        self.transport.write(STATUS_LINE[status] + head + body)
        self.transport.close()
