"""Region networks (which callers a region serves) and the fleet-wide health of region-group members.

Each gateway process has its own breaker per member (routing/regions.py); this module is the fleet's half:
`region_health_refresh` reads the last minute of request logs (written within a second of each call, so
the whole fleet follows within one task interval rather than one rollup) and marks a member down when
enough of its calls failed to connect or timed out, or up again when they no longer do. A member marked
down gets no calls, so it has no failures in the next window and is tried again: recovery needs nobody.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from knoxcall.lib.client_ip import parse_client_network

from .audit import SYSTEM, Actor, bump_config_version, record_change
from .models import Environment, RegionNetwork
from .permissions import require_change

FAILOVER_ERRORS = ("upstream_unavailable", "upstream_timeout")


def _clean_cidr(value: str) -> str:
    try:
        return str(parse_client_network(str(value).strip()))
    except ValueError as exc:
        raise ValidationError({"cidr": [str(exc)]}) from exc


@transaction.atomic
def region_network_create(*, actor: Actor, region: str, cidr: str, description: str = "") -> RegionNetwork:
    require_change(actor, admin_only=True)  # steers callers between regions, protected ones included
    if not region.strip():
        raise ValidationError({"region": ["Name the region, e.g. eu."]})
    network = RegionNetwork(region=region.strip(), cidr=_clean_cidr(cidr), description=description)
    if RegionNetwork.objects.filter(region=network.region, cidr=network.cidr).exists():
        raise ValidationError({"cidr": [f"{network.cidr} is already a network of {network.region}."]})
    network.full_clean()
    network.save()
    record_change(
        actor=actor,
        action="create",
        resource_type="region_network",
        resource_id=network.pk,
        resource_name=f"{network.cidr} → {network.region}",
        after={"region": network.region, "cidr": network.cidr},
    )
    bump_config_version()  # the route table holds the networks
    return network


@transaction.atomic
def region_network_delete(*, actor: Actor, network: RegionNetwork) -> None:
    require_change(actor, admin_only=True)
    before = {"region": network.region, "cidr": network.cidr}
    network_id = network.pk
    network.delete()
    record_change(
        actor=actor,
        action="delete",
        resource_type="region_network",
        resource_id=network_id,
        resource_name=f"{before['cidr']} → {before['region']}",
        before=before,
    )
    bump_config_version()


def member_failures(since: datetime) -> dict[str, tuple[int, int]]:
    """Per region member: (calls, calls that failed to connect or timed out) since `since`."""
    from analytics.models import RequestLog

    members = list(Environment.objects.exclude(region_group="").values_list("name", flat=True))
    rows = (
        RequestLog.objects.filter(timestamp__gte=since, environment__in=members)
        .values("environment")
        .annotate(calls=Count("id"), failed=Count("id", filter=Q(error_code__in=FAILOVER_ERRORS)))
    )
    found = {row["environment"]: (row["calls"], row["failed"]) for row in rows}
    return {name: found.get(name, (0, 0)) for name in members}


def is_member_down(calls: int, failed: int) -> bool:
    """Pure: enough calls, and enough of them unable to reach the member's upstream."""
    if calls < settings.KNOXCALL_REGION_DOWN_MIN_CALLS:
        return False
    return failed / calls >= settings.KNOXCALL_REGION_DOWN_FAILURE_SHARE


@transaction.atomic
def region_health_refresh(*, now: datetime | None = None) -> dict[str, bool]:
    """Mark members down or up from their recent calls; the changed ones, name -> now down."""
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.KNOXCALL_REGION_DOWN_WINDOW_SECONDS)
    changed: dict[str, bool] = {}
    for name, (calls, failed) in member_failures(since).items():
        down = is_member_down(calls, failed)
        updated = Environment.objects.filter(name=name, region_down_since__isnull=down).update(
            region_down_since=now if down else None
        )
        if updated:
            changed[name] = down
            record_change(
                actor=SYSTEM,
                action="region_down" if down else "region_up",
                resource_type="region",
                resource_id=name,
                resource_name=name,
                environment=name,
                after={"calls": calls, "failed": failed},
            )
    if changed:
        bump_config_version()  # every process reads the flags into its next route table
    return changed
