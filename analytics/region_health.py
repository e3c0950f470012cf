"""The fleet-wide verdict on region members: a member whose recent calls mostly fail to connect is marked
down for every gateway process (each process also has its own breaker, routing.proxy.regional). It reads the
request log, so it lives in analytics, above the environments it marks."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from core.audit import SYSTEM, bump_config_version, record_change, scope
from environments.models import Environment
from environments.regions import FAILOVER_ERRORS

from .models import RequestLog


def member_failures(since: datetime) -> dict[str, tuple[int, int]]:
    """Per region member: (calls, calls that failed to connect or timed out) since `since`."""
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
    if changed:  # every process reads the flags into its next route table
        marked = Environment.objects.filter(name__in=changed).values_list("pk", flat=True)
        bump_config_version(*(scope("environment", pk) for pk in marked))
    return changed
