"""The Date field (RFC 9110 §6.6.1) for the answers the gateway writes itself.

uvicorn runs with --no-date-header (knoxcall/lib/servers.py): its own Date on every response put a second
Date beside the upstream's on every proxied answer, where the field is a singleton. The gateway forwards the
upstream's Date as a proxy does, and gives its own answers (errors, the console, the API) this one.
"""

import time
from email.utils import formatdate

_cached: tuple[int, bytes] = (0, b"")


def http_date() -> bytes:
    """Now as an IMF-fixdate, formatted once a second."""
    global _cached
    now = int(time.time())
    if _cached[0] != now:
        _cached = (now, formatdate(now, usegmt=True).encode())
    return _cached[1]
