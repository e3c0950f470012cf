"""Drive the proxy with ASGI events and fake parts: no server, no socket, no database.

`table_of(...)` builds a RouteTable in memory (unsaved Route rows resolved by routing.table.resolve_route, as
the real build does), `FakeUpstream` answers and records what it was sent, and `run(...)` sends one request
through `routing.proxy.consumer.proxy` and collects the answer and the request record. The decisions (route
and environment, access, limits, injection, errors) run exactly as in production; only the parts differ.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from environments.api_keys import hash_api_key
from knoxcall.lib.client_ip import parse_client_network
from routing.access_table import KeyInfo
from routing.keys import route_index
from routing.models import OVERRIDABLE_FIELDS, Route
from routing.proxy.consumer import proxy
from routing.proxy.parts import ProxyParts
from routing.proxy.ratelimit import Verdict
from routing.proxy.records import RequestRecord
from routing.table import RouteTable, resolve_route
from secrets_vault.injection import Vault


def table_of(
    routes: list[Route],
    overrides: dict[tuple[str, str], dict] | None = None,
    environments: tuple[str, ...] = ("production", "staging"),
    api_keys: dict[str, KeyInfo] | None = None,
    clients: dict[tuple[str, str], list[str]] | None = None,
    vault: Vault | None = None,
) -> RouteTable:
    """A route table for these unsaved routes; the first environment is the default. `overrides` and
    `clients` are keyed by (route slug, environment); `api_keys` by the raw key. Without `clients`, every
    caller's IP is a client of every route (as the demo's loopback clients are)."""
    if clients is None:
        clients = {(r.slug, e): ["0.0.0.0/0", "::/0"] for r in routes for e in environments}
    resolved = {}
    for route in routes:
        base = {name: getattr(route, name) for name in OVERRIDABLE_FIELDS}
        for environment in environments:
            override = (overrides or {}).get((route.slug, environment))
            resolved[(str(route.pk), environment)] = resolve_route(base, route, environment, override, vault)
    networks = {
        (str(next(r.pk for r in routes if r.slug == slug)), environment): tuple(
            parse_client_network(ip) for ip in ips
        )
        for (slug, environment), ips in clients.items()
    }
    return RouteTable(
        version=1,
        route_index=route_index((str(r.pk), r.name, r.slug) for r in routes),
        environments=frozenset(environments),
        default_environment=environments[0],
        resolved=resolved,
        api_keys={hash_api_key(raw): info for raw, info in (api_keys or {}).items()},
        client_networks=networks,
    )


def open_route(slug: str, target: str = "http://upstream.test", **values) -> Route:
    """An unsaved route with the model's defaults, except what `values` set."""
    return Route(name=slug.title(), slug=slug, target_base_url=target, **values)


@dataclass
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


class _Response:
    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status, self.headers, self._body = status, headers, body

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self._body

    async def release(self) -> None:
        pass


@dataclass
class FakeUpstream:
    """Answers every request with `status` and `body`, and keeps what it was sent."""

    status: int = 200
    body: bytes = b'{"ok": true}'
    sent: list[Sent] = field(default_factory=list)

    async def send(self, method, url, headers, body, timeouts):
        if isinstance(body, AsyncIterator):
            body = b"".join([chunk async for chunk in body])
        decoded = {name.decode().lower(): value.decode() for name, value in headers}
        self.sent.append(Sent(method, url, decoded, body or b""))
        return _Response(self.status, [(b"content-type", b"application/json")], self.body)

    async def close(self) -> None:
        pass


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    records: list[RequestRecord]

    def json(self) -> dict:
        return json.loads(self.body)


async def _no_limit(route, key) -> Verdict | None:
    return None


def parts_for(table: RouteTable, upstream: FakeUpstream, records: list, limit=_no_limit) -> ProxyParts:
    async def current_table() -> RouteTable:
        return table

    return ProxyParts(table=current_table, upstream=lambda: upstream, limit=limit, record=records.append)


def run(
    table: RouteTable,
    path: str = "/",
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    client_ip: str = "203.0.113.9",
    upstream: FakeUpstream | None = None,
    limit=_no_limit,
) -> Answer:
    """One request through proxy(); the answer, and the record handed to the request log."""
    upstream = upstream if upstream is not None else FakeUpstream()
    records: list[RequestRecord] = []
    raw_headers = [(b"host", b"gateway.test")]
    raw_headers += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    if body:
        raw_headers.append((b"content-length", str(len(body)).encode()))
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": raw_headers,
        "client": (client_ip, 40000),
        "scheme": "http",
    }
    events = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict] = []

    async def receive() -> dict:
        return events.pop(0) if events else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(proxy(scope, receive, send, parts_for(table, upstream, records, limit)))
    start = next(m for m in sent if m["type"] == "http.response.start")
    answer_headers = {name.decode(): value.decode() for name, value in start["headers"]}
    answer_body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], answer_headers, answer_body, records)
