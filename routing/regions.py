"""Region groups: which member serves a call, and each process's circuit breaker per member.

Pure selection (`choose_member`) takes the group's members, the caller's hint and IP, and what is known to
be down; the breaker (`MemberBreakers`) is the process-local half of down detection: after N consecutive
connection failures or timeouts a member is skipped for a while (30 s, doubling up to 5 min), then tried
again. The fleet-wide half is the `region_down_since` flag the health task sets, read into the route table.
"""

import threading
import time
from dataclasses import dataclass

from knoxcall.lib.client_ip import Network, ip_in_networks


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    region: str
    fleet_down: bool  # marked down for every process by the fleet health task


@dataclass(frozen=True, slots=True)
class RegionGroup:
    name: str
    members: tuple[Member, ...]  # in failover order


@dataclass(frozen=True, slots=True)
class Choice:
    serving: str  # the member that serves the call
    preferred: str  # the member chosen before health was considered
    unavailable: bool = False  # preferred is down and the route may not leave its region

    @property
    def failover_from(self) -> str:
        return self.preferred if self.serving != self.preferred else ""


def preferred_member(
    group: RegionGroup, hint: str, client_ip: str | None, networks: dict[str, tuple[Network, ...]]
) -> Member:
    """The region hint, then the caller's network, then the first member."""
    if hint:
        for member in group.members:
            if member.region == hint or member.name == hint:
                return member
    for member in group.members:
        if member.region and ip_in_networks(client_ip, networks.get(member.region, ())):
            return member
    return group.members[0]


def choose_member(
    group: RegionGroup,
    hint: str,
    client_ip: str | None,
    networks: dict[str, tuple[Network, ...]],
    is_down,
    residency_locked: bool,
) -> Choice:
    """Serve from the preferred member unless it is down; then from the next healthy one in failover
    order, or not at all on a residency-locked route. With every member down the preferred one is tried."""
    preferred = preferred_member(group, hint, client_ip, networks)
    if not is_down(preferred):
        return Choice(preferred.name, preferred.name)
    if residency_locked:
        return Choice(preferred.name, preferred.name, unavailable=True)
    for member in group.members:
        if member is not preferred and not is_down(member):
            return Choice(member.name, preferred.name)
    return Choice(preferred.name, preferred.name)


@dataclass(slots=True)
class _State:
    failures: int = 0
    open_until: float = 0.0
    backoff: float = 0.0


class MemberBreakers:
    """Consecutive connection failures per member environment, in this process only."""

    def __init__(self) -> None:
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()  # the event loop and test threads may both touch it; it is cheap

    def is_open(self, member: str, now: float | None = None) -> bool:
        state = self._states.get(member)
        if state is None or not state.open_until:
            return False
        return (time.monotonic() if now is None else now) < state.open_until

    def failed(self, member: str, threshold: int, retry: float, max_retry: float) -> None:
        """A connection failure or timeout: open after `threshold` in a row, or again after a failed retry."""
        with self._lock:
            now = time.monotonic()
            state = self._states.setdefault(member, _State())
            state.failures += 1
            if (state.failures < threshold and not state.backoff) or now < state.open_until:
                return  # not yet, or already open: calls in flight when it opened do not double it
            state.backoff = min(max_retry, state.backoff * 2) if state.backoff else retry
            state.open_until = now + state.backoff

    def succeeded(self, member: str) -> None:
        if member in self._states:
            with self._lock:
                self._states.pop(member, None)

    def reset(self) -> None:
        with self._lock:
            self._states.clear()


breakers = MemberBreakers()
