"""The access part of the route table: API keys by hash and, per (route, environment), the client networks.

Built with the rest of the table (routing/table.py) so the proxy decides who may call without a query.
Only active keys are listed: a revoked key is simply unknown to the proxy. An expiring key carries its
expiry, which the proxy compares at lookup: it stops working on time, without waiting for a rebuild.
"""

import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

from environments.models import ApiKey
from knoxcall.lib.client_ip import Network, parse_client_network

from .models import RouteClient

Pair = tuple[str, str]  # (route id, environment name)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: str
    name: str
    may_invoke: bool
    rate_limit_requests: int | None
    rate_limit_window_sec: int | None
    expires_at: float | None = None  # unix time; None: never expires

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (time.time() if now is None else now) >= self.expires_at


def build_api_key_index() -> dict[str, KeyInfo]:
    """sha256 hex of each active key -> what the proxy needs to know about it."""
    return {
        key.key_hash: KeyInfo(
            id=str(key.pk),
            name=key.name,
            may_invoke=key.may_invoke,
            rate_limit_requests=key.rate_limit_requests,
            rate_limit_window_sec=key.rate_limit_window_sec,
            expires_at=key.expires_at.timestamp() if key.expires_at else None,
        )
        for key in ApiKey.objects.filter(active=True)
    }


def build_client_networks(route_ids: Collection[str] | None = None) -> dict[Pair, tuple[Network, ...]]:
    """(route id, environment name) -> the networks of the enabled clients assigned there; of every route,
    or of `route_ids` only (the route table reads again just the routes a change names)."""
    networks: dict[Pair, list[Network]] = defaultdict(list)
    assignments = RouteClient.objects.filter(client__enabled=True)
    if route_ids is not None:
        assignments = assignments.filter(route_id__in=list(route_ids))
    rows = assignments.values_list("route_id", "environment__name", "client__ip_address")
    for route_id, environment, ip_address in rows:
        try:
            networks[(str(route_id), environment)].append(_network(ip_address))
        except ValueError:
            continue  # the services validate addresses; a bad row must not stop the table from loading
    return {pair: tuple(found) for pair, found in networks.items()}


# Pure, and most clients are assigned to many (route, environment) pairs.
_network = lru_cache(maxsize=4096)(parse_client_network)
