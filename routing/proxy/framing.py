"""RFC 9110/9112 message rules the ASGI server may let through, refused before the proxy sees the request.

The server parses HTTP/1.1 itself, and every candidate measured (uvicorn's httptools and h11, granian,
daphne) let a different handful of requests through that nginx refuses (tests/framing/ holds the corpus and
nginx's answers). This module refuses those from what the server hands over (method, version, header
fields) with 400 and `Connection: close`, or 431 past the header count limit, so a caller cannot make the
gateway and the upstream read one request two ways.

A chunked body is also read ahead up to SMALL_BODY before the proxy runs: a body whose chunk framing is
broken then fails here, with the upstream untouched, instead of half-way through a forwarded request.
"""

import re
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from django.conf import settings

from knoxcall.lib.http_date import http_date

from .errors import GatewayError
from .headers import invalid_header

SMALL_BODY = 64 * 1024
_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_METHOD = re.compile(r"^[A-Z][A-Z_-]{0,19}$")  # nginx's rule: upper-case letters, '_' and '-'
_FIELD_VALUE_BAD = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # CTLs but HTAB (RFC 9110 §5.5)
_HOST = re.compile(rb"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%@]*)(:[0-9]*)?$")
_DIGITS = re.compile(rb"^[0-9]{1,18}$")


def _http10(scope: dict) -> bool:
    return scope.get("http_version") in ("1.0", "1")  # granian says "1" for HTTP/1.0


def _bad(message: str) -> GatewayError:
    return GatewayError("bad_request", message, close=True)


def _check_fields(headers: list[tuple[bytes, bytes]], max_headers: int) -> None:
    if len(headers) > max_headers:
        raise GatewayError("header_fields_too_large", f"More than {max_headers} header fields.", close=True)
    if invalid_header(headers) is None:  # every call passes here: one check over all fields at once
        return
    for name, value in headers:
        if not _TOKEN.match(name):
            raise _bad("A header field name is not a token.")
        if _FIELD_VALUE_BAD.search(value):
            raise _bad("A header field value holds a control character.")


def _check_framing(scope: dict, found: dict[bytes, list[bytes]]) -> None:
    """One framing only, stated once (RFC 9112 §6.1, §6.3); chunked the only transfer coding."""
    lengths, codings = found.get(b"content-length", []), found.get(b"transfer-encoding", [])
    if len(lengths) > 1 or (lengths and not _DIGITS.match(lengths[0].strip())):
        raise _bad("Invalid or repeated Content-Length.")
    if not codings:
        return
    if lengths:
        raise _bad("Content-Length and Transfer-Encoding together.")
    if _http10(scope):
        raise _bad("Transfer-Encoding in an HTTP/1.0 request.")
    if len(codings) > 1 or codings[0].strip().lower() != b"chunked":
        raise _bad("Only one Transfer-Encoding, chunked, is accepted.")


def _check_host(scope: dict, found: dict[bytes, list[bytes]]) -> None:
    # An empty Host counts as missing: granian inserts `host: ""` when the request has none.
    hosts = found.get(b"host", [])
    if len(hosts) > 1 or (not any(hosts) and not _http10(scope)):
        raise _bad("An HTTP/1.1 request needs exactly one Host.")
    if hosts and not _HOST.match(hosts[0]):
        raise _bad("Invalid Host.")


def refusal(scope: dict, max_headers: int) -> GatewayError | None:
    """Why this request must not be proxied, or None. Pure: reads the scope only."""
    if scope.get("http_version") not in ("1", "1.0", "1.1"):
        return _bad("Only HTTP/1.0 and HTTP/1.1 are served.")
    if not _METHOD.match(scope["method"]):
        return _bad("Invalid method.")
    headers = scope["headers"]
    found: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        if name in (b"content-length", b"transfer-encoding", b"host"):
            found.setdefault(name, []).append(value)
    try:
        _check_fields(headers, max_headers)
        _check_framing(scope, found)
        _check_host(scope, found)
    except GatewayError as error:
        return error
    return None


def origin_form(scope: dict) -> dict:
    """An absolute-form target (RFC 9112 §3.2.2) as the origin-form path the proxy appends to its target."""
    raw = scope.get("raw_path") or b""
    lowered = raw[:8].lower()
    if not (lowered.startswith(b"http://") or lowered.startswith(b"https://")):
        return scope
    slash = raw.find(b"/", raw.find(b"//") + 2)
    path = raw[slash:] if slash != -1 else b"/"
    path = path.split(b"?", 1)[0]
    return {**scope, "raw_path": path, "path": unquote(path.decode("latin-1"))}


async def read_ahead(scope: dict, receive: Callable[[], Awaitable[dict]]) -> Callable | None:
    """For a chunked body, read up to SMALL_BODY now; a receive that replays it, or None if the body broke."""
    if not any(name == b"transfer-encoding" for name, _ in scope["headers"]):
        return receive
    buffered: list[dict] = []
    size, more = 0, True
    try:
        while more and size <= SMALL_BODY:
            message = await receive()
            if message["type"] != "http.request":
                return None
            buffered.append(message)
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
    except Exception:  # the server's chunk parser refused the body (each server raises its own type)
        return None

    async def replay() -> dict:
        return buffered.pop(0) if buffered else await receive()

    return replay


async def _refuse(send, error: GatewayError) -> None:
    from .consumer import new_request_id

    body = error.body(new_request_id())
    headers = [
        (b"date", http_date()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def guard(app):
    """The proxy behind these rules: knoxcall/asgi.py wraps the proxy consumer with it, once."""

    async def guarded(scope: dict, receive, send) -> None:
        error = refusal(scope, settings.GATEWAY_MAX_HEADERS)
        if error is not None:
            return await _refuse(send, error)
        replay = await read_ahead(scope, receive)
        if replay is None:
            try:
                return await _refuse(send, _bad("The chunked body is malformed."))
            except Exception:  # the server has already answered and closed; nothing more to say
                return None
        return await app(origin_form(scope), replay, send)

    return guarded
