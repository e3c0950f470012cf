"""Which side of a release serves a call: stable or candidate, decided once per call with no database.

A keyed hash (BLAKE2b keyed with the release's salt) of the call's sticky key gives a number in [0, 2**64);
the call goes to the candidate when the number is below the weight's share of 2**64. So:
- the same caller lands on the same side in every process (the salt comes from the database, not from
  Python's per-process `hash()`);
- raising the weight only adds callers to the candidate, and weight 0 returns everyone to stable;
- a new release has a new salt, so it draws a new cohort;
- sticky `none`, or a call without the sticky key (a header it did not send), is drawn per call.

`x-knoxcall-variant: candidate|stable` forces a side when the release allows it (always for blue-green,
whose preview is otherwise unreachable; opt-in for a canary). Any caller admitted to the route may send it:
both sides are the same route in the same environment with the same access rules, and the header never
reaches an upstream (x-knoxcall-* fields are dropped). Forced calls are recorded with their side.
"""

import hashlib
import random

from .errors import GatewayError

VARIANT_HEADER = b"x-knoxcall-variant"
STABLE, CANDIDATE = "stable", "candidate"
FORCED = {b"candidate": CANDIDATE, b"stable": STABLE}
FULL_RANGE = 2**64


def sticky_bucket(salt: bytes, key: bytes) -> int:
    """The caller's number in [0, 2**64) for this release."""
    return int.from_bytes(hashlib.blake2b(key, digest_size=8, key=salt).digest(), "big")


def _sticky_key(release, found: dict[bytes, list[bytes]], call) -> bytes | None:
    sticky = release.sticky
    if sticky == "api_key":  # a caller admitted by its IP alone is kept on one side by that IP
        key = call.api_key_id or call.client_ip
        return key.encode() if key else None
    if sticky == "client_ip":
        return call.client_ip.encode() if call.client_ip else None
    if sticky == "header":
        values = found.get(release.sticky_header)
        return values[0] if values else None
    return None


def _forced_side(release, found: dict[bytes, list[bytes]]) -> str | None:
    values = found.get(VARIANT_HEADER)
    if not values or not release.allow_variant_header:
        return None
    side = FORCED.get(values[0].strip().lower())
    if side is None:
        raise GatewayError("bad_request", "x-knoxcall-variant must be 'candidate' or 'stable'.")
    return side


def side_for(release, found: dict[bytes, list[bytes]], call) -> str:
    forced = _forced_side(release, found)
    if forced is not None:
        return forced
    key = _sticky_key(release, found, call)
    number = sticky_bucket(release.salt, key) if key is not None else random.getrandbits(64)
    return CANDIDATE if number < release.threshold else STABLE


def choose_side(table, route, found: dict[bytes, list[bytes]], call):
    """The ResolvedRoute that serves this call: the stable one, or its release's candidate. Called after the
    access checks (which are the same for both sides), so the API key and client IP are known."""
    release = table.releases.get((route.route_id, route.environment)) if table.releases else None
    if release is None:
        return route
    side = side_for(release, found, call)
    call.release_id, call.variant = release.release_id, side
    if side == STABLE:
        return route
    candidate = release.candidate
    if candidate.is_loop:
        raise GatewayError("loop_detected", "The release's candidate target is this gateway.")
    call.route = candidate
    return candidate
