"""The caller's IP address, honouring only the proxies we trust.

The socket peer is the caller unless the peer is a trusted proxy; then X-Forwarded-For is walked from the
right and the first address that is not itself trusted is the caller (nginx's real_ip_recursive). A spoofed
header from an untrusted peer changes nothing. The proxy, rate limits, login throttling, audit and analytics
all use this one function.
"""

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=4096)
def normalise_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parse an address; IPv4-mapped IPv6 (::ffff:1.2.3.4) becomes plain IPv4.

    Cached: every proxied call parses its peer and its client IP (ipaddress costs about 10 µs a call, a
    lookup well under one); addresses are immutable, and the bound keeps a churn of callers from growing it.
    """
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=32)
def parse_networks(specs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(spec.strip(), strict=False) for spec in specs if spec.strip())


def is_trusted(address, networks: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


@lru_cache(maxsize=4096)
def canonical_ip(value: str) -> str:
    """A parseable address as text, the way the request log and the allowlist check write it (cached: str()
    of an ipaddress object costs more than the rest of the lookup)."""
    return str(normalise_ip(value))


def resolve_client_ip(peer: str, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """Return the caller's address as text; `forwarded_for` are the raw X-Forwarded-For header values."""
    address = normalise_ip(peer)
    if address is None:
        return peer
    caller = peer
    if is_trusted(address, trusted):
        hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
        for hop in reversed(hops):
            address = normalise_ip(hop)
            if address is None:
                break  # garbage in the chain: stop at the last address we could trust
            caller = hop
            if not is_trusted(address, trusted):
                break
    return canonical_ip(caller)


def parse_client_network(spec: str) -> Network:
    """One IP or a CIDR as a network; IPv4-mapped IPv6 (::ffff:a.b.c.d[/n>=96]) becomes the IPv4 network.

    Raises ValueError on anything else, including host bits set beyond the prefix (`10.0.0.1/8`), which is
    almost always a typo for a different network.
    """
    text = spec.strip()
    if "/" not in text:
        address = normalise_ip(text)
        if address is None:
            raise ValueError(f"'{spec}' is not an IP address or a CIDR network.")
        return ipaddress.ip_network(address)
    network = ipaddress.ip_network(text, strict=True)
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped is not None:
        if network.prefixlen < 96:
            raise ValueError(f"'{spec}' mixes IPv4-mapped and other IPv6 addresses; give the IPv4 network.")
        mapped = network.network_address.ipv4_mapped
        return ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
    return network


def ip_in_networks(ip: str | None, networks: Sequence[Network]) -> bool:
    """True when the (already normalised) address lies in any of the networks."""
    if not ip or not networks:
        return False
    address = normalise_ip(ip)
    return address is not None and any(address in network for network in networks)


def client_ip_of_request(request) -> str:
    """The trusted client IP of a Django request (console, API, login throttling, audit)."""
    from django.conf import settings

    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    peer = request.META.get("REMOTE_ADDR", "")
    return resolve_client_ip(
        peer, [forwarded] if forwarded else [], parse_networks(tuple(settings.TRUSTED_PROXIES))
    )
