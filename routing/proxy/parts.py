"""What a proxied call needs from its process, given to `proxy()` rather than reached for.

PRODUCTION is made of the running process's parts: the route table kept by `snapshot` (loaded on the first
call), the pooled upstream client, the rate limiter and the request-log writer. A test gives fakes instead
and drives `proxy()` with ASGI events alone, no server and no database (tests/support/proxy_harness.py).
Settings (body cap, timeouts, trusted proxies) are still read from Django's settings.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from routing.table import RouteTable

from . import records
from .lifecycle import ensure_table
from .ratelimit import Verdict, check_limits
from .records import RequestRecord
from .upstream import UpstreamClient, get_client


@dataclass(frozen=True, slots=True)
class ProxyParts:
    table: Callable[[], Awaitable[RouteTable]]  # the current route table
    upstream: Callable[[], UpstreamClient]  # the pooled client of the running event loop
    limit: Callable[..., Awaitable[Verdict | None]]  # (route, key) -> the verdict to enforce, or None
    record: Callable[[RequestRecord], None]  # hands a call's record on; never waits


PRODUCTION = ProxyParts(table=ensure_table, upstream=get_client, limit=check_limits, record=records.record)
