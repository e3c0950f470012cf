"""The proxy's own HTTP/1.1 client for the upstream leg: pooled keep-alive connections on asyncio protocols,
responses parsed by llhttp through httptools (the parser uvicorn already runs on the caller's side).

Why not aiohttp: on this machine aiohttp's client, called as the proxy must call it (every header given,
a timeout, a streamed answer), took about 50 µs of CPU of the gateway's 160 per call; with this client the
gateway's event loop spent about 50 µs less per call, and a bare forwarder costs 50 µs per call on it against
76 on aiohttp (README "Upstream client", bench/report.py). It does only what a forwarding proxy needs: no
cookies, redirects, decompression, proxies or retries (the proxy decides those), and it sends exactly the
headers it is given.

Framing is llhttp's (the same strictness as the caller's side); the one rule it cannot know is the answer to
HEAD, which has no body whatever its Content-Length says. A connection is reused only after a complete,
well-framed exchange that both sides kept alive: any doubt closes it, so one odd answer can never leak into
the next caller's response.

Errors are UpstreamError (before the response head: 502/504 with the gateway's code) or UpstreamBodyError
(while the body streams), as upstream.py defines them. The SSRF rules are checked where the connection is
made: an IP literal on every send (cached), a name when it is resolved (the address checked is the one
connected to, cached DNS_TTL seconds like aiohttp's DNS cache; a refusal is not cached).
"""

import asyncio
import collections
import ssl
import time
from collections.abc import AsyncIterator
from functools import lru_cache

import httptools

from knoxcall.lib.targets import UnsafeTargetError, resolve_checked

from .upstream import (
    FORBIDDEN_MESSAGE,
    TIMEOUT_MESSAGE,
    UNAVAILABLE_MESSAGE,
    Body,
    Headers,
    Timeouts,
    UpstreamBodyError,
    UpstreamError,
    allowed_hosts,
    describe_error,
    literal_refusal,
)

HIGH_WATER = 64 * 1024  # response bytes buffered unread before the connection stops reading
DNS_TTL = 300.0
# Methods sent without a body need no Content-Length; any other gets `Content-Length: 0` (as aiohttp sends),
# since some servers answer 411 to a POST that states no length.
BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "DELETE", "CONNECT"})


class _Lost(ConnectionError):
    """The upstream closed the connection before the exchange was complete."""


@lru_cache(maxsize=256)
def _origin(url: str) -> tuple[tuple[str, str, int], str]:
    """(scheme, host, port) of an origin URL; cached, since a route's target is the same on every call."""
    scheme, _, rest = url.partition("://")
    host, _, port = rest.rpartition(":") if rest.rfind(":") > rest.rfind("]") else (rest, "", "")
    default = 443 if scheme == "https" else 80
    return (scheme, host.strip("[]"), int(port) if port else default), rest


def _split(url: str) -> tuple[tuple[str, str, int], str]:
    """The origin of `url` and its request target (path and query, as given: already encoded)."""
    scheme_end = url.find("://") + 3
    slash = url.find("/", scheme_end)
    question = url.find("?", scheme_end)
    cut = min(i for i in (slash, question, len(url)) if i != -1)
    target = url[cut:]
    if target.startswith("?"):
        target = "/" + target
    return _origin(url[:cut])[0], target or "/"


def _request_head(method: str, target: str, headers: Headers) -> bytes:
    start = f"{method} {target} HTTP/1.1\r\n".encode("latin-1")
    head = start + b"".join([name + b": " + value + b"\r\n" for name, value in headers]) + b"\r\n"
    # The caller's fields passed the framing rules and injected values refuse CR/LF/NUL; this is the last
    # line of defence against request splitting: exactly one CR and one LF per line, and no NUL.
    lines = len(headers) + 2
    if head.count(b"\n") != lines or head.count(b"\r") != lines or b"\0" in head:
        raise ValueError("A header name or value holds CR, LF or NUL.")
    return head


class _Exchange:
    """One request and its response on one connection; also the response the proxy reads
    (`status`, `headers`, `chunks()`, `release()`). llhttp calls the on_* methods."""

    __slots__ = (
        "_chunks",
        "_conn",
        "_deadline",
        "_error",
        "_framed",
        "_head_only",
        "_paused",
        "_pool",
        "_read_timeout",
        "_released",
        "_size",
        "_waiter",
        "complete",
        "has_head",
        "headers",
        "parser",
        "reusable",
        "status",
        "writer",
    )

    def __init__(self, conn: "_Connection", pool: "_Pool", head_only: bool, timeouts: Timeouts) -> None:
        self._conn = conn
        self._pool = pool
        self._head_only = head_only
        self._read_timeout = timeouts.read
        self._deadline = conn.loop.time() + timeouts.total
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: Headers = []
        self.has_head = False
        self.complete = False
        self.reusable = True  # cleared by anything that leaves the connection's state in doubt
        self._framed = False  # the response states Content-Length or Transfer-Encoding
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._paused = False
        self._waiter: asyncio.Future | None = None
        self._error: BaseException | None = None
        self.writer: asyncio.Task | None = None  # streams a request body that is not in memory
        self._released = False

    # --- llhttp callbacks -------------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.headers = []  # an interim 1xx answer's fields are not the response's
        self._framed = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        if len(name) in (14, 17) and name.lower() in (b"content-length", b"transfer-encoding"):
            self._framed = True

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            return  # interim (100 Continue, 103 Early Hints): the real answer follows on this connection
        self.status = status
        self.has_head = True
        if status in (204, 304):
            self._framed = True  # bodiless by status: llhttp ends the message at the head
        if self._head_only or status == 101:
            # HEAD: no body, whatever the fields say. 101 switches protocols, which the proxy never asks for.
            self.reusable = self.reusable and status != 101
            self._finish()
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.complete:  # bytes after a HEAD answer: the upstream broke framing
            self.reusable = False
            return
        self._chunks.append(body)
        self._size += len(body)
        if self._size > HIGH_WATER and not self._paused:
            self._paused = True
            self._conn.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.has_head and not self.complete:
            self._finish()
            self._wake()

    # --- events from the connection ---------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.reusable = False
        except httptools.HttpParserError as exc:
            self.fail(exc)
            self._conn.close()

    def lost(self, exc: BaseException | None) -> None:
        if self.complete:
            return
        if self.has_head and not self._framed and exc is None:
            # A body without Content-Length or chunking ends when the upstream closes (RFC 9112 §6.3).
            self.reusable = False
            self._finish()
            self._wake()
            return
        self.fail(exc or _Lost("The upstream closed the connection."))

    def fail(self, exc: BaseException) -> None:
        if self._error is None and not self.complete:
            self._error = exc
            self.reusable = False
            self._wake()

    def _finish(self) -> None:
        self.complete = True
        if not self.parser.should_keep_alive() or not self._framed and not self._head_only:
            self.reusable = False

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        """Until the parser has news, the read timeout or the total deadline, whichever is first."""
        loop = self._conn.loop
        waiter = self._waiter = loop.create_future()
        timer = loop.call_at(min(self._deadline, loop.time() + self._read_timeout), self._timed_out, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _timed_out(self, waiter: asyncio.Future) -> None:
        if not waiter.done():
            waiter.set_exception(TimeoutError())
            self.reusable = False
            self._conn.close()

    # --- the proxy's side -------------------------------------------------------------------------------
    async def head(self) -> None:
        """Wait for the response head; raises UpstreamError."""
        while not self.has_head:
            if self._error is not None:
                error = self._error
                detail = describe_error(error)
                raise UpstreamError("upstream_unavailable", UNAVAILABLE_MESSAGE, detail) from error
            try:
                await self._wait()
            except TimeoutError as exc:
                raise UpstreamError("upstream_timeout", TIMEOUT_MESSAGE, "no response head in time") from exc

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            if self._chunks:
                chunk = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
                self._chunks.clear()
                self._size = 0
                if self._paused:
                    self._paused = False
                    self._conn.transport.resume_reading()
                yield chunk
            elif self.complete:
                return
            elif self._error is not None:
                raise UpstreamBodyError(describe_error(self._error))
            else:
                try:
                    await self._wait()
                except TimeoutError:
                    raise UpstreamBodyError("The upstream's body did not arrive in time.") from None

    async def release(self) -> None:
        """Give the connection back for the next call when this exchange left it clean; close it otherwise."""
        if self._released:
            return
        self._released = True
        writer = self.writer
        if writer is not None and not writer.done():
            writer.cancel()  # the answer came before the whole body went: the connection's state is unknown
            self.reusable = False
        self._conn.exchange = None
        # The parser holds this exchange's bound callbacks: a cycle per call that only the cyclic GC would
        # free, whose gen-0 passes then stopped the event loop for about 0.5 ms each (16 a second at c1).
        self.parser = None
        if self.complete and self.reusable and not self._chunks:
            self._pool.put(self._conn)
        else:
            self._conn.close()
            self._pool.give_up()


class _Connection(asyncio.Protocol):
    """One keep-alive connection to one origin; one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.exchange: _Exchange | None = None
        self.closed = False
        self.origin: tuple = ()
        self.idle_since = 0.0
        self._drained: asyncio.Future | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        exchange = self.exchange
        if exchange is None:  # bytes while idle: nothing asked for them, so the connection cannot be trusted
            self.close()
            return
        exchange.feed(data)

    def eof_received(self) -> None:
        return None  # close our side too: a half-closed upstream takes no further request

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closed = True
        if self.exchange is not None:
            self.exchange.lost(exc)
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_exception(exc or _Lost("The upstream closed the connection."))

    def pause_writing(self) -> None:
        self._drained = self.loop.create_future()

    def resume_writing(self) -> None:
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    async def drain(self) -> None:
        if self._drained is not None:
            await self._drained

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class _Pool:
    """Idle connections per origin, most recent first; at most `limit` connections in use at once."""

    def __init__(self, limit: int, keepalive: float) -> None:
        self._idle: dict[tuple, list[_Connection]] = {}
        self._slots = asyncio.Semaphore(limit)
        self._keepalive = keepalive
        self._addresses: dict[tuple, tuple[float, str]] = {}
        self._tls: ssl.SSLContext | None = None

    def take(self, origin: tuple) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < self._keepalive:
                return conn
            conn.close()
        return None

    def put(self, conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        idle = self._idle.setdefault(conn.origin, [])
        while idle and (idle[0].closed or conn.idle_since - idle[0].idle_since >= self._keepalive):
            idle.pop(0).close()
        idle.append(conn)
        self._slots.release()

    def give_up(self) -> None:
        self._slots.release()

    async def acquire(self, origin: tuple, connect_timeout: float) -> _Connection:
        """A connection to `origin`, reused or new; it holds one slot until `put` or `give_up`."""
        await self._slots.acquire()
        try:
            return self.take(origin) or await self._connect(origin, connect_timeout)
        except BaseException:
            self._slots.release()
            raise

    async def _connect(self, origin: tuple, timeout: float) -> _Connection:
        scheme, host, port = origin
        address = await self._address(host, port)
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(loop), address, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError as exc:
            raise UpstreamError("upstream_timeout", TIMEOUT_MESSAGE, "connect timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            detail = f"cannot connect to {host}:{port}: {describe_error(exc)}"  # for the log only
            raise UpstreamError("upstream_unavailable", UNAVAILABLE_MESSAGE, detail) from exc
        conn.origin = origin
        return conn

    async def _address(self, host: str, port: int) -> str:
        """The address to connect to, once the SSRF rules passed it."""
        allowed = allowed_hosts()
        if _is_literal(host):  # checked by `send`
            return host
        loop = asyncio.get_running_loop()
        key = (host, port, allowed)
        cached = self._addresses.get(key)
        if cached is not None and cached[0] > loop.time():
            return cached[1]
        try:
            address = await loop.run_in_executor(None, resolve_checked, host, port, allowed)
        except UnsafeTargetError as exc:
            raise UpstreamError("upstream_forbidden", FORBIDDEN_MESSAGE, str(exc)) from None
        except OSError as exc:
            raise UpstreamError("upstream_unavailable", UNAVAILABLE_MESSAGE, describe_error(exc)) from exc
        self._addresses[key] = (loop.time() + DNS_TTL, address)
        return address

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


@lru_cache(maxsize=1024)
def _is_literal(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Http1Client:
    """The UpstreamClient of routing/proxy/upstream.py on this module's connections."""

    def __init__(self) -> None:
        from django.conf import settings

        self._pool = _Pool(settings.PROXY_POOL_SIZE, keepalive=30.0)

    async def send(self, method: str, url: str, headers: Headers, body: Body, timeouts: Timeouts):
        origin, target = _split(url)
        if body is None and method not in BODILESS:
            headers = [*headers, (b"content-length", b"0")]
        streamed = body is not None and not isinstance(body, bytes)
        if streamed and not any(name == b"content-length" for name, _ in headers):
            headers = [*headers, (b"transfer-encoding", b"chunked")]
        head = _request_head(method, target, headers)
        # On every send, not only at connect: a pooled connection must not outlive the allow-list that let
        # it be made (names are checked when they are resolved, as aiohttp's resolver did).
        refusal = literal_refusal(origin[1], allowed_hosts())
        if refusal:
            raise UpstreamError("upstream_forbidden", FORBIDDEN_MESSAGE, refusal)
        conn = await self._pool.acquire(origin, timeouts.connect)
        exchange = conn.exchange = _Exchange(conn, self._pool, method == "HEAD", timeouts)
        try:
            if streamed:
                conn.transport.write(head)
                exchange.writer = asyncio.ensure_future(_write_body(conn, exchange, body, headers))
            else:
                conn.transport.write(head + body if body else head)
            await exchange.head()
        except BaseException:
            await exchange.release()
            raise
        return exchange

    async def close(self) -> None:
        self._pool.close()


async def _write_body(conn: _Connection, exchange: _Exchange, body, headers: Headers) -> None:
    """Stream the caller's body upstream; any failure (the caller left, the body cap) aborts the connection,
    so the upstream never sees a complete request."""
    chunked = (b"transfer-encoding", b"chunked") in headers
    try:
        async for chunk in body:
            if chunk:
                conn.transport.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                await conn.drain()
        if chunked:
            conn.transport.write(b"0\r\n\r\n")
    except BaseException as exc:
        exchange.fail(exc)
        conn.close()
        if not isinstance(exc, Exception):
            raise
