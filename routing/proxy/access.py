"""Who may call and how often: the proxy's checks after the route is chosen and before the body is read.

In order (DESIGN.md):
1. Authentication: a valid, active `x-knoxcall-key` that may invoke, or a caller IP inside an enabled
   client assigned to (route, environment). Neither: 401 invalid_api_key.
2. Allowlist: when the effective `requires_clients` is true, the caller IP must match such a client even
   with a valid key: else 403 ip_not_authorized (with the `ip`).
3. Rate limits: the route's in this environment and the key's own; over either: 429 rate_limited.
Everything comes from the in-memory route table; the only I/O is the Redis limiter's single round trip.
"""

from knoxcall.lib.client_ip import ip_in_networks

from .errors import GatewayError
from .key_usage import note_key_used
from .ratelimit import check_limits

KEY_HEADER = b"x-knoxcall-key"


def presented_key(table, found: dict[bytes, list[bytes]]):
    """The caller's API key when it is active, unexpired and may invoke routes, else None."""
    presented = found.get(KEY_HEADER)
    if not presented:
        return None
    key = table.find_api_key(presented[0].decode("latin-1").strip())
    return key if key is not None and key.may_invoke and not key.expired() else None


def check_caller(table, route, found: dict[bytes, list[bytes]], key, client_ip: str | None) -> None:
    """401 when neither the key nor the IP authenticates; 403 when the IP must be a client's and is not."""
    ip_allowed = ip_in_networks(client_ip, table.networks_of(route))
    if key is None and not ip_allowed:
        if KEY_HEADER in found:
            raise GatewayError("invalid_api_key", "Invalid, revoked, expired or non-invoking API key.")
        raise GatewayError(
            "invalid_api_key",
            f"No x-knoxcall-key was sent, and no client assigned to this route in {route.environment} "
            f"contains the caller's IP {client_ip}: send a valid x-knoxcall-key, or assign a client that "
            "contains this IP to the route in this environment.",
            extra={"ip": client_ip},
        )
    if route.config["requires_clients"] and not ip_allowed:
        raise GatewayError(
            "ip_not_authorized",
            f"{client_ip} is not an allowed client of this route in {route.environment}",
            extra={"ip": client_ip},
        )


async def enforce_access(
    table, route, found: dict[bytes, list[bytes]], call, limit=check_limits
) -> list[tuple[bytes, bytes]]:
    """Run the checks for one call; returns the X-RateLimit-* headers for the response (maybe none)."""
    key = presented_key(table, found)
    if key is not None:
        call.api_key_id = key.id  # logged even when the IP check then refuses the call
        note_key_used(key.id)
    check_caller(table, route, found, key, call.client_ip)
    verdict = await limit(route, key)
    if verdict is None:
        return []
    if not verdict.allowed:
        raise GatewayError("rate_limited", "Rate limit exceeded; retry later.", headers=verdict.headers())
    return verdict.headers()
