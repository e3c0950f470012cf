"""The streaming proxy: an ASGI coroutine that forwards any HTTP request carrying `x-knoxcall-route`.

It works on raw ASGI events so bodies stream both ways (Channels' AsyncHttpConsumer buffers the request
body), and it is not a Channels consumer at all: a consumer's dispatch loop would run
`aclose_old_connections()` in a thread for every message, and even an instance per call costs on the hot
path, while the proxy never touches the database. knoxcall/asgi.py calls `proxy` behind the framing guard
(routing/proxy/framing.py), which has refused malformed header fields and framing already.
Every decision reads the in-memory route table (routing/proxy/snapshot.py).
"""

import logging
import random
import time
from collections.abc import AsyncIterator, Callable

from django.conf import settings

from knoxcall.lib.client_ip import parse_networks, resolve_client_ip
from knoxcall.lib.http_date import http_date
from secrets_vault.injection import Injection, InjectionRefused
from secrets_vault.rendering import RenderContext

from .access import enforce_access
from .errors import GatewayError
from .headers import (
    VIA_TOKEN,
    downstream_response_headers,
    request_id_from,
    upstream_request_headers,
)
from .parts import PRODUCTION, ProxyParts
from .paths import UnsafePathError, upstream_url
from .records import RequestRecord
from .regional import choose_environment, note_upstream_outcome
from .split import choose_side
from .upstream import Body, Timeouts, UpstreamBodyError, UpstreamClient, UpstreamError

log = logging.getLogger(__name__)

SMALL_BODY = 64 * 1024  # bodies up to this size with a Content-Length are read whole: one write upstream
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
READ_FIELDS = frozenset({b"content-length", b"transfer-encoding", b"via", b"host"})  # and every x- field


def new_request_id() -> str:
    """32 hex digits, time-ordered: the microsecond clock (13 digits), then 76 random bits (as UUIDv7 does).

    An identifier, not a secret (random.getrandbits avoids uuid4's urandom syscall). Ids that grow with time
    land at the end of the request log's request_id index instead of on a random page of it: on SQLite
    that halved the recorder's insert cost per row (13.3 → 7.1 µs, bench/recorder.py). A caller's own
    X-Request-Id is kept as given."""
    return f"{time.time_ns() // 1000:013x}{random.getrandbits(76):019x}"


class RequestBodyTooLarge(Exception):
    pass


class CallerDisconnected(Exception):
    pass


class Call:
    """What the proxy learns about one call as it goes; becomes the request log record at the end."""

    __slots__ = (
        "api_key_id",
        "bytes_in",
        "bytes_out",
        "client_ip",
        "environment",
        "error_code",
        "failover_from",
        "error_detail",
        "method",
        "path",
        "query",
        "rate_limit_headers",
        "record",
        "recorded",
        "release_id",
        "request_id",
        "route",
        "secrets_used",
        "started",
        "status",
        "upstream_host",
        "variant",
    )

    def __init__(self, scope: dict, request_id: str, record: Callable[[RequestRecord], None]) -> None:
        self.started = time.perf_counter()
        self.record = record
        self.request_id = request_id
        self.method = scope["method"]
        raw_path = scope.get("raw_path")
        self.path = raw_path.decode("latin-1") if raw_path else scope["path"]
        self.query = scope.get("query_string", b"").decode("latin-1")
        self.route = None
        self.recorded = False
        self.environment = ""
        self.failover_from = ""  # the region member the call was meant for, when another one served it
        self.client_ip = None
        self.status = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.upstream_host = ""
        self.error_code = ""
        self.error_detail = ""  # for the log and the request log, never for the caller
        self.secrets_used: list[str] = []
        self.api_key_id = None  # set by access.enforce_access when a key authenticated the call
        self.rate_limit_headers: list[tuple[bytes, bytes]] = []
        self.release_id = ""  # set by split.choose_side when a release is served on (route, environment)
        self.variant = ""  # "stable" or "candidate" then

    def finish(self) -> None:
        """Hand the record to the recorder, once. Called before the last byte goes out, so a caller that
        has its answer can rely on the call being in the recorder's queue."""
        if self.recorded:
            return
        self.recorded = True
        route = self.route
        self.record(
            RequestRecord(
                request_id=self.request_id,
                timestamp=time.time(),
                route_id=route.route_id if route else None,
                route_slug=route.slug if route else "",
                environment=self.environment,
                method=self.method,
                path=self.path[:2048],
                query=self.query,
                status=self.status,
                latency_ms=(time.perf_counter() - self.started) * 1000,
                bytes_in=self.bytes_in,
                bytes_out=self.bytes_out,
                client_ip=self.client_ip,
                upstream_host=self.upstream_host,
                error_code=self.error_code,
                error_detail=self.error_detail,
                secrets_used=self.secrets_used,
                api_key_id=self.api_key_id,
                failover_from=self.failover_from,
                release_id=self.release_id,
                variant=self.variant,
            )
        )


def _read_headers(scope: dict) -> dict[bytes, list[bytes]]:
    """The fields the proxy decides on, read in one pass over the caller's headers."""
    found: dict[bytes, list[bytes]] = {}
    for name, value in scope["headers"]:
        if name.startswith(b"x-") or name in READ_FIELDS:
            found.setdefault(name, []).append(value)
    return found


def _content_length(found: dict[bytes, list[bytes]]) -> int | None:
    """The declared body length; ambiguous framing is refused (RFC 9112 §6.1, §6.3)."""
    lengths = found.get(b"content-length")
    if lengths is None:
        return None
    if b"transfer-encoding" in found:
        raise GatewayError("bad_request", "Content-Length and Transfer-Encoding together.", close=True)
    values = {v.strip() for value in lengths for v in value.split(b",")}
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise GatewayError("bad_request", "Invalid Content-Length.", close=True)
    return int(next(iter(values)))


def _choose_route(table, found: dict[bytes, list[bytes]], call: Call, method: str):
    route_key = found[b"x-knoxcall-route"][0].decode("latin-1").strip()
    route_id = table.find_route_id(route_key)
    if route_id is None:
        raise GatewayError("route_not_found", f"No route named '{route_key}'.")
    env_header = found.get(b"x-knoxcall-environment")
    named = env_header[0].decode("latin-1").strip() if env_header else None
    environment = choose_environment(table, named, route_id, found, call)
    route = table.resolve(route_id, environment)
    if route is None:  # left out of the table: its configuration there cannot be resolved (see /readyz)
        message = f"Route '{route_key}' is unavailable in {environment}: its configuration is invalid."
        raise GatewayError("route_unavailable", message)
    call.route = route
    if not route.enabled:
        raise GatewayError("route_disabled", f"Route '{route.slug}' is disabled in {environment}.")
    if route.is_loop or any(VIA_TOKEN in via for via in found.get(b"via", ())):
        raise GatewayError("loop_detected", "The route's target is this gateway.")
    if route.allowed_methods and method not in route.allowed_methods:
        allow = ", ".join(sorted(route.allowed_methods)).encode()
        raise GatewayError(
            "method_not_allowed", f"{method} is not allowed on this route.", headers=[(b"allow", allow)]
        )
    return route


async def _read_whole_body(receive, length: int, call: Call) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise CallerDisconnected
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    call.bytes_in = len(body)
    return body


async def _stream_body(receive, call: Call, cap: int) -> AsyncIterator[bytes]:
    """Yield the caller's body as it arrives; past the cap, stop so upstream never sees a complete request."""
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            call.error_code = "client_disconnected"
            raise CallerDisconnected
        chunk = message.get("body", b"")
        call.bytes_in += len(chunk)
        if call.bytes_in > cap:
            raise RequestBodyTooLarge
        more = message.get("more_body", False)
        if chunk:
            yield chunk


def _forwarded_headers(scope: dict, found: dict, call: Call, route) -> list[tuple[bytes, bytes]]:
    headers = upstream_request_headers(scope["headers"])
    host = found[b"host"][0] if b"host" in found else b""
    headers += [
        (b"host", route.host_header),
        (b"x-forwarded-for", call.client_ip.encode()),
        (b"x-forwarded-proto", scope.get("scheme", "http").encode()),
        (b"x-forwarded-host", host),
        (b"via", VIA_TOKEN),
        (b"x-request-id", call.request_id.encode()),
    ]
    return headers


def _injection_context(injection: Injection, call: Call) -> RenderContext:
    """This call's secret values; a missing, expired or undecryptable secret refuses it (fail closed)."""
    call.secrets_used = list(injection.secret_names)
    try:
        return injection.context(call.request_id)
    except InjectionRefused as refused:
        raise GatewayError(refused.code, refused.message) from None


def _inject_headers(headers: list, injection: Injection, context: RenderContext) -> list:
    """Replace (never duplicate) the caller's copies; runs after hop-by-hop stripping, so a caller's
    `Connection: <injected name>` cannot remove what the gateway adds."""
    try:
        injected = injection.render_headers(context)
    except InjectionRefused as refused:
        raise GatewayError(refused.code, refused.message) from None
    names = injection.header_names
    return [(name, value) for name, value in headers if name not in names] + injected


def _injects_body(injection: Injection | None, scope: dict, found: dict) -> bool:
    """Only a JSON request that has a body is rewritten (and so buffered, within the body cap)."""
    if injection is None or not injection.body:
        return False
    if b"content-length" not in found and b"transfer-encoding" not in found:
        return False
    content_type = next((v for n, v in scope["headers"] if n == b"content-type"), b"")
    media_type = content_type.split(b";", 1)[0].strip().lower()
    return media_type == b"application/json" or media_type.endswith(b"+json")


async def _injected_body(
    receive, call: Call, cap: int, injection: Injection, context: RenderContext
) -> bytes:
    chunks = []
    try:
        async for chunk in _stream_body(receive, call, cap):
            chunks.append(chunk)
    except RequestBodyTooLarge:
        raise _too_large(cap) from None
    try:
        return injection.merge_body(b"".join(chunks), context)
    except ValueError:
        message = "The body is not a JSON object, so the route cannot merge into it."
        raise GatewayError("bad_request", message) from None
    except RecursionError:  # json's parser and encoder recurse once per nesting level
        raise GatewayError("bad_request", "The JSON body is nested too deeply to merge into.") from None


def _too_large(cap: int) -> GatewayError:
    return GatewayError("payload_too_large", f"The request body exceeds {cap} bytes.", close=True)


async def _request_body(scope, receive, found, call: Call, route, context, headers: list) -> Body:
    """The body to send upstream (None, bytes, or a stream), adding its Content-Length when known."""
    length = _content_length(found)
    cap = settings.PROXY_MAX_BODY_BYTES
    if length is not None and length > cap:
        raise _too_large(cap)
    if _injects_body(route.injection, scope, found):
        body = await _injected_body(receive, call, cap, route.injection, context)
    elif length is not None and length <= SMALL_BODY:
        body = await _read_whole_body(receive, length, call)
    elif length is None and b"transfer-encoding" not in found:
        return None
    else:
        if length is not None:
            headers.append((b"content-length", str(length).encode()))
        return _stream_body(receive, call, cap)
    headers.append((b"content-length", str(len(body)).encode()))
    return body


async def _forward(call: Call, url: str, headers: list, body: Body, route, upstream: UpstreamClient):
    """Send upstream; only a refused or dropped connection of an idempotent, unstreamed call is retried."""
    timeouts = Timeouts(
        connect=min(settings.PROXY_CONNECT_TIMEOUT, route.timeout_seconds),
        read=route.timeout_seconds,
        total=route.timeout_seconds,
    )
    in_hand = body is None or isinstance(body, bytes)  # not a stream, which cannot be sent twice
    attempts = 2 if call.method in IDEMPOTENT and in_hand else 1
    for attempt in range(attempts):
        try:
            response = await upstream.send(call.method, url, headers, body, timeouts)
            note_upstream_outcome(call.environment, None)
            return response
        except UpstreamError as exc:
            if call.error_code == "client_disconnected":
                raise CallerDisconnected from exc
            if call.bytes_in > settings.PROXY_MAX_BODY_BYTES:
                raise _too_large(settings.PROXY_MAX_BODY_BYTES) from exc
            if attempt + 1 < attempts and exc.code == "upstream_unavailable":
                continue
            call.error_detail = exc.detail
            note_upstream_outcome(call.environment, exc.code)
            log.warning("upstream %s for %s: %s", exc.code, call.request_id, exc.detail)
            raise GatewayError(exc.code, exc.message) from exc


async def _send_upstream(scope, receive, found, call: Call, route, upstream: UpstreamClient):
    try:  # the path first: a refused path reads no body
        url = upstream_url(route.target_base_url, call.path, call.query)
    except UnsafePathError as exc:
        raise GatewayError("bad_request", str(exc)) from exc
    injection = route.injection
    context = _injection_context(injection, call) if injection is not None else None
    headers = _forwarded_headers(scope, found, call, route)
    body = await _request_body(scope, receive, found, call, route, context, headers)
    if context is not None:
        headers = _inject_headers(headers, injection, context)
    call.upstream_host = route.host_header.decode()
    return await _forward(call, url, headers, body, route, upstream)


def _release_headers(call: Call) -> list[tuple[bytes, bytes]]:
    return [(b"x-knoxcall-release", call.release_id.encode()), (b"x-knoxcall-variant", call.variant.encode())]


async def _send_error(send, error: GatewayError, call: Call) -> None:
    body = error.body(call.request_id)
    headers = [
        (b"date", http_date()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", call.request_id.encode()),
        *error.headers,
    ]
    if call.environment:
        headers.append((b"x-knoxcall-environment", call.environment.encode()))
    if call.failover_from:
        headers.append((b"x-knoxcall-failover-from", call.failover_from.encode()))
    if call.variant:
        headers += _release_headers(call)
    if error.close:
        headers.append((b"connection", b"close"))
    call.status, call.error_code, call.bytes_out = error.status, error.code, len(body)
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    call.finish()
    await send({"type": "http.response.body", "body": body})


async def _relay_response(send, response, call: Call) -> None:
    """Stream the upstream's answer; a failure mid-body propagates so the server aborts the connection."""
    own_limits = call.rate_limit_headers  # replace the upstream's copies: a caller must see one figure
    headers = downstream_response_headers(response.headers, replaced={name for name, _ in own_limits})
    headers += [
        (b"x-request-id", call.request_id.encode()),
        (b"x-knoxcall-environment", call.environment.encode()),
        (b"via", VIA_TOKEN),  # appended to the upstream's Via, as every proxy on the way does
        *own_limits,
    ]
    if call.failover_from:
        headers.append((b"x-knoxcall-failover-from", call.failover_from.encode()))
    if call.variant:
        headers += _release_headers(call)
    if not any(name == b"date" for name, _ in headers):  # an upstream without a clock (RFC 9110 §6.6.1)
        headers.append((b"date", http_date()))
    call.status = response.status
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    previous = None
    async for chunk in response.chunks():
        if previous is not None:
            await send({"type": "http.response.body", "body": previous, "more_body": True})
        call.bytes_out += len(chunk)
        previous = chunk
    call.finish()
    await send({"type": "http.response.body", "body": previous or b""})


async def _send_internal_error(send, call: Call) -> None:
    """Any failure the proxy did not foresee: logged with its traceback, answered as JSON when the response
    has not started (else re-raised by the caller, so the server aborts a half-sent answer)."""
    log.exception("proxy failed on %s %s (request %s)", call.method, call.path[:200], call.request_id)
    error = GatewayError("internal_error", "The gateway failed to handle this request.", close=True)
    await _send_error(send, error, call)


async def proxy(scope: dict, receive, send, parts: ProxyParts = PRODUCTION) -> None:
    """One proxied call, from the ASGI events to the request record; every outside part comes from `parts`."""
    found = _read_headers(scope)
    request_id = request_id_from(found.get(b"x-request-id", [None])[0], new_request_id)
    call = Call(scope, request_id, parts.record)
    response = None
    try:
        table = await parts.table()
        peer = (scope.get("client") or ("", 0))[0]
        forwarded_for = [value.decode("latin-1") for value in found.get(b"x-forwarded-for", ())]
        call.client_ip = resolve_client_ip(
            peer, forwarded_for, parse_networks(tuple(settings.TRUSTED_PROXIES))
        )
        route = _choose_route(table, found, call, call.method)
        call.rate_limit_headers = await enforce_access(table, route, found, call, parts.limit)
        route = choose_side(table, route, found, call)  # once per call: a switch never moves it midway
        response = await _send_upstream(scope, receive, found, call, route, parts.upstream())
        await _relay_response(send, response, call)
    except GatewayError as error:
        await _send_error(send, error, call)
    except UpstreamBodyError as exc:
        call.error_code, call.error_detail = "upstream_reset", str(exc)
        log.warning("upstream failed mid-response for %s: %s", call.request_id, exc)
        raise  # the server aborts the connection: the caller must not mistake a truncated body for success
    except CallerDisconnected:
        call.error_code, call.status = "client_disconnected", call.status or 499
    except Exception:
        if call.status:  # the response has started: only an aborted connection can say it failed
            call.error_code = call.error_code or "internal_error"
            raise
        await _send_internal_error(send, call)
    finally:
        if response is not None:
            await response.release()
        call.finish()
