"""Region networks (which callers a region serves) and the fleet-wide health of region-group members.

Each gateway process has its own breaker per member (routing/regions.py); this module is the fleet's half:
`region_health_refresh` reads the last minute of request logs (written within a second of each call, so
the whole fleet follows within one task interval rather than one rollup) and marks a member down when
enough of its calls failed to connect or timed out, or up again when they no longer do. A member marked
down gets no calls, so it has no failures in the next window and is tried again: recovery needs nobody.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from core.audit import Actor, record_change, scope
from core.permissions import require_change
from knoxcall.lib.client_ip import parse_client_network

from .models import RegionNetwork

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
        scopes=[scope("region_network", network.pk)],  # the route table holds the networks
    )
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
        scopes=[scope("region_network", network_id)],
    )
