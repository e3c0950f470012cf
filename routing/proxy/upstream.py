"""The one place the proxy talks to upstreams: a pooled HTTP client per process, behind a small interface.

Two implementations share the interface so bench/ can measure both in one run; settings choose
(`KNOXCALL_UPSTREAM_CLIENT`, default aiohttp). aiohttp was chosen by the figures: on this kind of machine
httpx.AsyncClient spends about 1 ms of CPU per call at 32 in flight, aiohttp about 0.12 ms (see the
benchmark in bench/proxy.py and ../shared/PERFORMANCE.md).

Errors before the response headers become UpstreamError with the gateway's error code (502/504); errors
while streaming the body raise UpstreamBodyError, which the consumer turns into an aborted connection.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

Headers = list[tuple[bytes, bytes]]
Body = bytes | AsyncIterator[bytes] | None
CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float
    read: float  # waiting for the response headers, and for each body chunk
    total: float  # the whole exchange: ends an upstream that drip-feeds its body


class UpstreamError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


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
            async for chunk in self._response.content.iter_chunked(CHUNK):
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamBodyError(str(exc) or type(exc).__name__) from exc

    async def release(self) -> None:
        self._response.release()


class AiohttpClient:
    # aiohttp adds these unless told not to; the proxy forwards exactly what the caller sent.
    SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")

    def __init__(self) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        connector = aiohttp.TCPConnector(
            limit=settings.PROXY_POOL_SIZE, ttl_dns_cache=300, keepalive_timeout=30
        )
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
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
        try:
            response = await self._session.request(
                method,
                URL(url, encoded=True),
                headers=[(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers],
                data=body,
                allow_redirects=False,
                timeout=self._timeout(timeouts),
                skip_auto_headers=self.SKIP_AUTO_HEADERS,
                compress=None,
            )
        except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
            raise UpstreamError("upstream_timeout", "The upstream did not answer in time.") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError("upstream_unavailable", f"The upstream could not be reached: {exc}") from exc
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
    def __init__(self) -> None:
        import httpx

        self._httpx = httpx
        limits = httpx.Limits(max_connections=settings.PROXY_POOL_SIZE, max_keepalive_connections=100)
        self._client = httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False)

    async def send(self, method: str, url: str, headers: Headers, body: Body, timeouts: Timeouts):
        httpx = self._httpx
        deadline = asyncio.get_running_loop().time() + timeouts.total
        timeout = httpx.Timeout(timeouts.read, connect=timeouts.connect)
        request = self._client.build_request(method, url, headers=headers, content=body, timeout=timeout)
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._client.send(request, stream=True)
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise UpstreamError("upstream_timeout", "The upstream did not answer in time.") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError("upstream_unavailable", f"The upstream could not be reached: {exc}") from exc
        return _HttpxResponse(response, deadline)

    async def close(self) -> None:
        await self._client.aclose()


_IMPLEMENTATIONS = {"aiohttp": AiohttpClient, "httpx": HttpxClient}
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
