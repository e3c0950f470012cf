"""SSRF rules for URLs the gateway will call (route targets, notification webhooks).

http/https only, no credentials in the URL, and no private, loopback, link-local or metadata address unless
the host is on an administrator's allow-list.
"""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

LOCAL_HOSTNAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "metadata.google.internal"}
MAX_URL_LENGTH = 2048  # the column's size (routing.models), so a saved URL is never cut short
MAX_HOST_LENGTH = 253  # DNS: a name of at most 253 characters, in labels of 1-63 (RFC 1035 §2.3.4)
MAX_LABEL_LENGTH = 63


class UnsafeTargetError(ValueError):
    pass


class InvalidTargetError(UnsafeTargetError):
    """The URL cannot be called at all (port, host name, length), whatever the allow-list says."""


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
    if len(url) > MAX_URL_LENGTH:
        raise InvalidTargetError(
            f"The URL is {len(url)} characters long; at most {MAX_URL_LENGTH} are allowed."
        )
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
    target_address(url)  # everything the route table derives from the URL must be derivable
    if _is_internal_host(host) and host not in {h.lower().strip("[]") for h in allowed_hosts}:
        raise UnsafeTargetError(
            f"{host} is a private, loopback or metadata address; an administrator must allow it first."
        )
    return url


@dataclass(frozen=True, slots=True)
class TargetAddress:
    """What the gateway derives from a target URL to call it (routing/table.py builds routes from this)."""

    hostname: str  # lower case; an IPv6 address without its brackets
    port: int  # the URL's port, or the scheme's default
    host_header: bytes  # the Host header upstream receives: the URL's host and port, IDNA-encoded


def _port(parts) -> int:
    try:
        port = parts.port
    except ValueError:
        port = 0  # "Port out of range 0-65535" or not a number
    if port is None:
        return 443 if parts.scheme == "https" else 80
    if not 1 <= port <= 65535:
        raise InvalidTargetError("The port must be a number from 1 to 65535.")
    return port


def _check_host_name(host: str) -> None:
    """A DNS name the IDNA codec can encode, in labels of 1-63 and at most 253 characters once encoded."""
    try:
        ipaddress.ip_address(host)
        return  # an address literal: no labels to encode
    except ValueError:
        pass
    encoded = []
    for label in host.removesuffix(".").split("."):
        if not label:
            raise InvalidTargetError(f"The host name {host!r} has an empty label (two dots in a row?).")
        try:
            encoded.append(label.encode("idna"))
        except UnicodeError as exc:
            if "too long" in str(exc):
                raise InvalidTargetError(
                    f"The host name label {label[:20]!r}… is longer than {MAX_LABEL_LENGTH} characters."
                ) from None
            raise InvalidTargetError(
                f"The host name {host!r} is not a valid international (IDNA) name."
            ) from None
    if len(b".".join(encoded)) > MAX_HOST_LENGTH:
        raise InvalidTargetError(f"The host name is longer than {MAX_HOST_LENGTH} characters.")


def target_address(url: str) -> TargetAddress:
    """Derive what calling `url` needs, or raise InvalidTargetError saying what cannot be derived."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise InvalidTargetError("The URL has no host.")
    port = _port(parts)
    _check_host_name(host)
    try:
        host_header = parts.netloc.encode("idna")
    except UnicodeError:
        raise InvalidTargetError(f"The host {parts.netloc!r} cannot be sent as a Host header.") from None
    return TargetAddress(hostname=host, port=port, host_header=host_header)
