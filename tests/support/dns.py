"""Host names that resolve without a DNS server (test machines have none), for connect-time SSRF tests.

`socket.getaddrinfo` is the boundary: aiohttp's default resolver and the alert notifier both resolve through
it, so a name mapped here reaches every check after it exactly as a real DNS answer would.
"""

import socket

import pytest


def resolve_names(monkeypatch: pytest.MonkeyPatch, names: dict[str, str]) -> None:
    """Make each name (case-insensitive, with or without a trailing dot) resolve to its address."""
    real = socket.getaddrinfo
    mapped = {name.lower().rstrip("."): address for name, address in names.items()}

    def getaddrinfo(host, port, *args, **kwargs):
        text = host.decode("ascii") if isinstance(host, bytes) else host
        address = mapped.get((text or "").lower().rstrip("."))
        return real(address if address is not None else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
