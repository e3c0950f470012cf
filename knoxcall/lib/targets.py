"""SSRF rules for URLs the gateway will call (route targets, notification webhooks).

http/https only, no credentials in the URL, and no private, loopback, link-local or metadata address unless
the host is on an administrator's allow-list. The URL's text is checked when it is saved (`check_target_url`);
the address a name resolves to is checked again when the gateway connects (`check_resolved_address`), since
any DNS name can point at 127.0.0.1 or a metadata service.
"""

import contextlib
import functools
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOCAL_HOSTNAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "metadata.google.internal"}
MAX_URL_LENGTH = 2048  # the column's size (routing.models), so a saved URL is never cut short
MAX_HOST_LENGTH = 253  # DNS: a name of at most 253 characters, in labels of 1-63 (RFC 1035 §2.3.4)
MAX_LABEL_LENGTH = 63


class UnsafeTargetError(ValueError):
    pass


class InvalidTargetError(UnsafeTargetError):
    """The URL cannot be called at all (port, host name, length), whatever the allow-list says."""


def normalize_host(host: str) -> str:
    """Lower case, no IPv6 brackets, no trailing dots (`app.localhost.` is the host `app.localhost`), and
    IDNA-mapped as a client would send it (fullwidth `ｌｏｃａｌｈｏｓｔ` is `localhost`)."""
    host = host.strip().strip("[]").lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host  # not a name a client could send: left for the URL's own validation to refuse


def _parse_address(text: str) -> IPAddress | None:
    """An IP address, including the legacy IPv4 spellings a resolver accepts (`127.1`, `2130706433`)."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone id names no other host
    except ValueError:
        if not text or not all(c in "0123456789abcdefx." for c in text):
            return None
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_internal_address(address: IPAddress) -> bool:
    return not address.is_global or address.is_multicast


def _is_internal_host(host: str) -> bool:
    if host in LOCAL_HOSTNAMES or host.endswith(".localhost") or host.endswith(".internal"):
        return True
    address = _parse_address(host)
    return address is not None and _is_internal_address(address)


@functools.lru_cache(maxsize=64)
def _allow_list(allowed_hosts: tuple[str, ...]) -> tuple[frozenset[str], tuple]:
    """Host names and addresses, plus networks written as CIDR (`10.0.0.0/8`), from an allow-list setting."""
    names, networks = set(), []
    for entry in allowed_hosts:
        entry = normalize_host(entry)
        names.add(entry)
        if "/" in entry:
            with contextlib.suppress(ValueError):  # not a network after all: it stays a name
                networks.append(ipaddress.ip_network(entry, strict=False))
    return frozenset(names), tuple(networks)


def is_allowed(host: str, allowed_hosts: Iterable[str], address: IPAddress | None = None) -> bool:
    """Whether an administrator's allow-list names this host, or (when given) the address it resolved to."""
    names, networks = _allow_list(tuple(allowed_hosts))
    if normalize_host(host) in names:
        return True
    if address is None:
        address = _parse_address(normalize_host(host))
    if address is None:
        return False
    return str(address) in names or any(address in network for network in networks)


def check_resolved_address(host: str, address: str, allowed_hosts: Iterable[str]) -> None:
    """Raise UnsafeTargetError when `host` resolved to an internal `address` the allow-list does not cover."""
    parsed = _parse_address(address)
    if parsed is None or not _is_internal_address(parsed) or is_allowed(host, allowed_hosts, parsed):
        return
    raise UnsafeTargetError(
        f"{normalize_host(host)} resolves to {parsed}, a private, loopback or metadata address; "
        "an administrator must allow it first."
    )


def resolve_checked(host: str, port: int, allowed_hosts: Iterable[str]) -> str:
    """Resolve `host` (blocking) and return an address to connect to, once every address it has passed.

    Raises UnsafeTargetError for an internal address, OSError when the name does not resolve. Connecting to
    the address returned (not to the name again) is what keeps DNS from changing the answer in between.
    """
    infos = socket.getaddrinfo(normalize_host(host), port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        check_resolved_address(host, address, allowed_hosts)
    # One address is tried, not each in turn: IPv4 first, since a host without IPv6 routes is common and
    # `localhost` may list ::1 while a local service listens on 127.0.0.1 only.
    return sorted(addresses, key=lambda address: ":" in address)[0]


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
    host = normalize_host(parts.hostname or "")
    if not host:
        raise UnsafeTargetError("The URL has no host.")
    if parts.query or parts.fragment:
        raise UnsafeTargetError("A target URL carries no query string or fragment.")
    target_address(url)  # everything the route table derives from the URL must be derivable
    if _is_internal_host(host) and not is_allowed(host, allowed_hosts):
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
