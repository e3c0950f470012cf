"""What the alert rules measure: per-minute metric buckets summed over a rule's window.

A small reader of analytics.models.MetricBucket and RequestLog written for alerts alone; it is to be
reconciled with analytics/selectors.py (written in parallel) once both are merged. `observed_value` is
pure: it turns window totals into the number a rule compares with its threshold.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from django.db.models import Sum

from analytics import histogram
from analytics.models import MetricBucket, RequestLog

from .models import RuleType

COUNTED_FIELDS = ("total", "status_5xx", "gateway_errors", "rate_limited", "unauthorized")


@dataclass(frozen=True)
class WindowTotals:
    total: int = 0
    status_5xx: int = 0
    gateway_errors: int = 0
    rate_limited: int = 0
    unauthorized: int = 0
    latency_histogram: list[int] = field(default_factory=histogram.empty)
    # Only filled for request_failures rules: calls answered with one of the rule's status codes.
    failures: int = 0


def window_start(now: datetime, window_minutes: int) -> datetime:
    """The first minute of a window that ends with (and includes) the current, still filling minute."""
    current_minute = now.replace(second=0, microsecond=0)
    return current_minute - timedelta(minutes=window_minutes - 1)


def metric_totals_for_window(
    *, environment: str, route_id: UUID | None, since: datetime, until: datetime
) -> WindowTotals:
    """Sum the buckets of one environment (one route, or all of them) with since <= minute <= until."""
    buckets = MetricBucket.objects.filter(environment=environment, minute__gte=since, minute__lte=until)
    if route_id is not None:
        buckets = buckets.filter(route_id=route_id)
    sums = buckets.aggregate(**{name: Sum(name) for name in COUNTED_FIELDS})
    merged = histogram.merge(buckets.values_list("latency_histogram", flat=True))
    return WindowTotals(**{name: int(sums[name] or 0) for name in COUNTED_FIELDS}, latency_histogram=merged)


def request_failures_for_window(
    *, environment: str, route_id: UUID | None, since: datetime, until: datetime, status_codes: list[int]
) -> tuple[int, int]:
    """(calls answered with one of status_codes, all calls) from the request log, since <= t <= until."""
    logs = RequestLog.objects.filter(environment=environment, timestamp__gte=since, timestamp__lte=until)
    if route_id is not None:
        logs = logs.filter(route_id=route_id)
    return logs.filter(status__in=status_codes).count(), logs.count()


def observed_value(rule_type: str, totals: WindowTotals, percentile: int = 95) -> float | None:
    """The number a rule of this type compares with its threshold; None when there is nothing to measure."""
    if rule_type == RuleType.ERROR_RATE:
        if not totals.total:
            return None
        # Capped: a gateway error that is also a 5xx must not push the rate past 100%.
        errors = min(totals.total, totals.status_5xx + totals.gateway_errors)
        return round(100.0 * errors / totals.total, 3)
    if rule_type == RuleType.LATENCY:
        return histogram.percentile(totals.latency_histogram, percentile)
    counts = {
        RuleType.REQUEST_FAILURES: totals.failures,
        RuleType.RATE_LIMIT_EXCEEDED: totals.rate_limited,
        RuleType.UNAUTHORIZED_CLIENT: totals.unauthorized,
        RuleType.REQUEST_VOLUME: totals.total,
    }
    return float(counts[rule_type])
