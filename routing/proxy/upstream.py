"""The one place the proxy talks to upstreams: a pooled HTTP client per process, behind a small interface.

Three implementations share the interface, chosen by settings (`KNOXCALL_UPSTREAM_CLIENT`): `http1`, the
default, the gateway's own client (routing/proxy/http1.py, README "Upstream client"), and aiohttp and httpx,
kept so bench/ can measure them in one run and an operator can switch back. By the figures on this kind of
machine: httpx.AsyncClient spends about 1 ms of CPU per call at 32 in flight; a bare ASGI forwarder costs
about 76 µs of CPU per call on aiohttp and about 50 µs on http1 (bench/report.py).

Errors before the response headers become UpstreamError with the gateway's error code (502/504); errors
while streaming the body raise UpstreamBodyError, which the consumer turns into an aborted connection.

The SSRF rules are applied again where the connection is made: a route's URL text was checked when it was
saved, but a DNS name can resolve to 127.0.0.1 or a metadata address. aiohttp resolves names through
GuardedResolver, which refuses internal addresses that KNOXCALL_UPSTREAM_ALLOWED_HOSTS does not cover (by
name or by address); IP literals, which aiohttp does not resolve, are checked before sending. The httpx client
has no resolver hook, so it sends to an address it resolved and checked itself. Either way the caller gets
502 `upstream_forbidden` and the upstream sees nothing.
"""

import asyncio
import functools
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from aiohttp.abc import AbstractResolver
from django.conf import settings

from knoxcall.lib.targets import UnsafeTargetError, check_resolved_address, resolve_checked

Headers = list[tuple[bytes, bytes]]
Body = bytes | AsyncIterator[bytes] | None
CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float
    read: float  # waiting for the response headers, and for each body chunk
    total: float  # the whole exchange: ends an upstream that drip-feeds its body


class UpstreamError(Exception):
    """`message` is for the caller and names nothing internal; `detail` (the client library's own words,
    which can hold the upstream's address and port) goes to the log and the request log only."""

    def __init__(self, code: str, message: str, detail: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail or message


TIMEOUT_MESSAGE = "The upstream did not answer in time."
UNAVAILABLE_MESSAGE = "The upstream could not be reached."
FORBIDDEN_MESSAGE = "The upstream's address is private, loopback or metadata and not allowed."


class ForbiddenAddressError(OSError):
    """A resolver's refusal: an OSError, so aiohttp reports it like a failed lookup (ClientConnectorError)."""


def allowed_hosts() -> tuple[str, ...]:
    return tuple(settings.UPSTREAM_ALLOWED_HOSTS)  # read per use: tests and a reload may change it


@functools.lru_cache(maxsize=1024)
def literal_refusal(host: str, allowed: tuple[str, ...]) -> str:
    """Why an IP-literal host may not be connected to ("" when it may, and for any name, which aiohttp
    resolves through GuardedResolver). Cached: it runs on every call."""
    try:
        check_resolved_address(host, host, allowed)
    except UnsafeTargetError as exc:
        return str(exc)
    return ""


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class UpstreamBodyError(Exception):
    """The upstream failed after the response started: the caller must see an aborted response."""


class UpstreamResponse(Protocol):
    status: int
    headers: Headers

    def chunks(self) -> AsyncIterator[bytes]: ...
    async def release(self) -> None: ...


class UpstreamClient(Protocol):
    async def send(
        self, method: str, url: str, headers: Headers, body: Body, timeouts: Timeouts
    ) -> UpstreamResponse: ...
    async def close(self) -> None: ...


# --- aiohttp ---------------------------------------------------------------------------------------------
class _AiohttpResponse:
    __slots__ = ("_response", "headers", "status")

    def __init__(self, response) -> None:
        self._response = response
        self.status = response.status
        self.headers = list(response.raw_headers)

    async def chunks(self) -> AsyncIterator[bytes]:
        import aiohttp

        try:
            length = self._response.content_length
            if length is not None and length <= CHUNK:
                # A small body with a known length is one chunk anyway: one read, without the chunk
                # iterator's per-call machinery (most API answers; measured about 15 µs a call).
                yield await self._response.content.read()
                return
            async for chunk in self._response.content.iter_chunked(CHUNK):
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamBodyError(str(exc) or type(exc).__name__) from exc

    async def release(self) -> None:
        self._response.release()


class GuardedResolver(AbstractResolver):
    """aiohttp's own resolver, then the SSRF rules on every address it returned (any internal one refuses
    the name: a public answer mixed with 127.0.0.1 is no better). A refusal is not cached, an answer is
    (aiohttp's DNS cache), so a name re-pointed at an internal address is refused when it is next resolved."""

    def __init__(self) -> None:
        from aiohttp.resolver import DefaultResolver

        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET):
        results = await self._inner.resolve(host, port, family)
        allowed = allowed_hosts()
        for result in results:
            try:
                check_resolved_address(host, result["host"], allowed)
            except UnsafeTargetError as exc:
                raise ForbiddenAddressError(str(exc)) from None
        return results

    async def close(self) -> None:
        await self._inner.close()


class AiohttpClient:
    # aiohttp adds these unless told not to; the proxy forwards exactly what the caller sent.
    SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")

    def __init__(self) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        connector = aiohttp.TCPConnector(
            limit=settings.PROXY_POOL_SIZE,
            ttl_dns_cache=300,
            keepalive_timeout=30,
            resolver=GuardedResolver(),
        )
        # skip_auto_headers on the session, not per request: aiohttp builds the set once instead of per call.
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=self.SKIP_AUTO_HEADERS,
        )
        self._timeouts: dict[Timeouts, object] = {}

    def _timeout(self, timeouts: Timeouts):
        timeout = self._timeouts.get(timeouts)
        if timeout is None:
            timeout = self._aiohttp.ClientTimeout(
                total=timeouts.total, sock_connect=timeouts.connect, sock_read=timeouts.read
            )
            self._timeouts[timeouts] = timeout
        return timeout

    async def send(self, method: str, url: str, headers: Headers, body: Body, timeouts: Timeouts):
        from yarl import URL

        aiohttp = self._aiohttp
        target = URL(url, encoded=True)
        refusal = literal_refusal(target.raw_host or "", allowed_hosts())  # a name: "" (see the resolver)
        if refusal:
            raise UpstreamError("upstream_forbidden", FORBIDDEN_MESSAGE, refusal)
        try:
            response = await self._session.request(
                method,
                target,
                headers=[(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers],
                data=body,
                allow_redirects=False,
                timeout=self._timeout(timeouts),
                compress=None,
            )
        except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
            raise UpstreamError("upstream_timeout", TIMEOUT_MESSAGE, describe_error(exc)) from exc
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ForbiddenAddressError):
                raise UpstreamError("upstream_forbidden", FORBIDDEN_MESSAGE, str(exc.os_error)) from exc
            raise UpstreamError("upstream_unavailable", UNAVAILABLE_MESSAGE, describe_error(exc)) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError("upstream_unavailable", UNAVAILABLE_MESSAGE, describe_error(exc)) from exc
        return _AiohttpResponse(response)

    async def close(self) -> None:
        await self._session.close()


# --- httpx (kept for the benchmark's same-run comparison) -------------------------------------------------
class _HttpxResponse:
    __slots__ = ("_deadline", "_response", "headers", "status")

    def __init__(self, response, deadline: float) -> None:
        self._response = response
        self._deadline = deadline
        self.status = response.status_code
        self.headers = list(response.headers.raw)

    async def chunks(self) -> AsyncIterator[bytes]:
        import httpx

        try:
            # httpx's read timeout is per chunk; the total deadline is ours to enforce.
            async with asyncio.timeout_at(self._deadline):
                async for chunk in self._response.aiter_raw(CHUNK):
                    yield chunk
        except (httpx.HTTPError, TimeoutError) as exc:
            raise UpstreamBodyError(str(exc) or type(exc).__name__) from exc

    async def release(self) -> None:
        await self._response.aclose()


class HttpxClient:
    DNS_TTL = 300.0  # seconds, as aiohttp's DNS cache

    def __init__(self) -> None:
        import httpx

        self._httpx = httpx
        limits = httpx.Limits(max_connections=settings.PROXY_POOL_SIZE, max_keepalive_connections=100)
        self._client = httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False)
        self._addresses: dict[tuple[str, int | None], tuple[float, str]] = {}

    async def _checked_address(self, host: str, port: int | None) -> str:
        """An address of `host` that passed the SSRF rules (cached); httpx has no resolver hook, so the
        request is sent to this address rather than letting the connection resolve the name again."""
        loop = asyncio.get_running_loop()
        cached = self._addresses.get((host, port))
        if cached is not None and cached[0] > loop.time():
            return cached[1]
        try:
            address = await loop.run_in_executor(None, resolve_checked, host, port or 0, allowed_hosts())
        except UnsafeTargetError as exc:
            raise UpstreamError("upstream_forbidden", FORBIDDEN_MESSAGE, str(exc)) from None
        except OSError as exc:
            raise UpstreamError("upstream_unavailable", UNAVAILABLE_MESSAGE, describe_error(exc)) from exc
        self._addresses[(host, port)] = (loop.time() + self.DNS_TTL, address)
        return address

    async def send(self, method: str, url: str, headers: Headers, body: Body, timeouts: Timeouts):
        httpx = self._httpx
        deadline = asyncio.get_running_loop().time() + timeouts.total
        timeout = httpx.Timeout(timeouts.read, connect=timeouts.connect)
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")
        pinned = target.copy_with(host=await self._checked_address(host, target.port))
        # The proxy sets Host itself; TLS still verifies the certificate against the name.
        extensions = {"sni_hostname": host.rstrip(".")} if target.scheme == "https" else None
        request = self._client.build_request(
            method, pinned, headers=headers, content=body, timeout=timeout, extensions=extensions
        )
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._client.send(request, stream=True)
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise UpstreamError("upstream_timeout", TIMEOUT_MESSAGE, describe_error(exc)) from exc
        except httpx.HTTPError as exc:
            raise UpstreamError("upstream_unavailable", UNAVAILABLE_MESSAGE, describe_error(exc)) from exc
        return _HttpxResponse(response, deadline)

    async def close(self) -> None:
        await self._client.aclose()


def _http1_client() -> UpstreamClient:
    from .http1 import Http1Client  # imports this module's errors, so it is imported when first used

    return Http1Client()


_IMPLEMENTATIONS = {"http1": _http1_client, "aiohttp": AiohttpClient, "httpx": HttpxClient}
_clients: dict[asyncio.AbstractEventLoop, UpstreamClient] = {}


def get_client() -> UpstreamClient:
    """The pooled client of the running event loop, created on first use."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = _IMPLEMENTATIONS[settings.PROXY_UPSTREAM_CLIENT]()
    return client


async def close_client() -> None:
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.close()
