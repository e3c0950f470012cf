"""The environment a call is served in: expiry (410), region groups and failover, all from the route table.

A temporary environment answers 410 environment_expired from its expiry second on (the table carries the
time, so nobody waits for the expiry task), and its archived name keeps answering 410 afterwards. A call
naming a region group, or naming none when the default environment is a member of one, is served by the
member `routing.regions.choose_member` picks; this process's breakers and the fleet flag say who is down.
"""

import time

from django.conf import settings

from routing.regions import Member, breakers, choose_member

from . import snapshot
from .errors import GatewayError

REGION_HEADER = b"x-knoxcall-region"
FAILOVER_CODES = frozenset({"upstream_unavailable", "upstream_timeout"})


def _is_down(member: Member) -> bool:
    return member.fleet_down or breakers.is_open(member.name)


def _check_expiry(table, environment: str) -> None:
    expires = table.expires_at.get(environment)
    if environment in table.archived or (expires is not None and expires <= time.time()):
        raise GatewayError("environment_expired", f"Environment '{environment}' has expired.")


def _group_to_serve(table, named: str | None):
    if named is None:
        named = table.default_environment
        return table.region_groups.get(table.group_of.get(named, "")), named
    return table.region_groups.get(named), named


def choose_environment(table, named: str | None, route_id: str, found: dict, call) -> str:
    """The serving environment's name; sets call.environment and call.failover_from."""
    group, named = _group_to_serve(table, named)
    if group is None:
        if not named or (named not in table.environments and named not in table.archived):
            raise GatewayError("environment_not_found", f"No environment named '{named}'.")
        call.environment = named  # an expired one's 410s are logged under its name too
        _check_expiry(table, named)
        return named
    hint = found.get(REGION_HEADER, [b""])[0].decode("latin-1").strip()
    locked = route_id in table.residency_locked
    choice = choose_member(group, hint, call.client_ip, table.region_networks, _is_down, locked)
    call.environment = choice.serving
    if choice.unavailable:
        raise GatewayError(
            "region_unavailable",
            f"Region member '{choice.preferred}' of '{group.name}' is down and this route may not leave "
            "its region.",
        )
    call.failover_from = choice.failover_from
    _check_expiry(table, choice.serving)
    return choice.serving


def note_upstream_outcome(environment: str, code: str | None) -> None:
    """Feed this process's breaker of a region member: a connection failure or timeout counts, any answer
    from upstream (whatever its status) closes it. Other environments are not tracked."""
    table = snapshot.current()
    if table is None or environment not in table.group_of:
        return
    if code is None:
        breakers.succeeded(environment)
    elif code in FAILOVER_CODES:
        breakers.failed(
            environment,
            settings.KNOXCALL_FAILOVER_THRESHOLD,
            settings.KNOXCALL_FAILOVER_RETRY_SECONDS,
            settings.KNOXCALL_FAILOVER_MAX_RETRY_SECONDS,
        )
