"""SSRF rules for URLs the gateway will call (route targets, notification webhooks).

http/https only, no credentials in the URL, and no private, loopback, link-local or metadata address unless
the host is on an administrator's allow-list.
"""

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

LOCAL_HOSTNAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "metadata.google.internal"}


class UnsafeTargetError(ValueError):
    pass


def _is_internal_host(host: str) -> bool:
    if host in LOCAL_HOSTNAMES or host.endswith(".localhost") or host.endswith(".internal"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def check_target_url(url: str, allowed_hosts: Iterable[str] = ()) -> str:
    """Return the URL unchanged, or raise UnsafeTargetError saying what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeTargetError("Only http:// and https:// URLs are allowed.")
    if parts.username or parts.password:
        raise UnsafeTargetError("Credentials in the URL are not allowed; inject them as secrets instead.")
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeTargetError("The URL has no host.")
    if parts.query or parts.fragment:
        raise UnsafeTargetError("A target URL carries no query string or fragment.")
    if _is_internal_host(host) and host not in {h.lower().strip("[]") for h in allowed_hosts}:
        raise UnsafeTargetError(
            f"{host} is a private, loopback or metadata address; an administrator must allow it first."
        )
    return url
