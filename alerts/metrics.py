"""What the alert rules measure, read through analytics' selectors so alerts and dashboards agree.

`observed_value` is pure: it turns a window's Metrics into the number a rule compares with its threshold.
`request_failures` counts chosen status codes, which the per-minute buckets do not keep, from the request log.
"""

from datetime import datetime, timedelta
from uuid import UUID

from analytics.models import RequestLog
from analytics.selectors import Metrics, window_metrics

from .models import RuleType


def window_start(now: datetime, window_minutes: int) -> datetime:
    """A W-minute window is the last W x 60 seconds of calls: it starts W minutes before now.

    Buckets are per minute, so bucket rules read every bucket from the one holding this moment (the partial
    oldest minute, whole) through the current one: every call of the last W x 60 s counts, plus at most 59 s
    of calls just before. A spike 30 s before a 1-minute evaluation is inside; an incident resolves at most
    a minute later than an exact window would resolve it.
    """
    return now - timedelta(minutes=window_minutes)


def metric_totals_for_window(
    *, environment: str, route_id: UUID | None, since: datetime, until: datetime
) -> Metrics:
    """One environment's buckets (one route, or all) from the minute holding since through until's minute."""
    route_ids = [route_id] if route_id is not None else None
    return window_metrics(environments=[environment], route_ids=route_ids, since=since, until=until)[
        environment
    ]


def request_failures_for_window(
    *, environment: str, route_id: UUID | None, since: datetime, until: datetime, status_codes: list[int]
) -> tuple[int, int]:
    """(calls answered with one of status_codes, all calls) from the request log, since <= t <= until.

    The log has every call's time, so this window is exact: the last W x 60 s, nothing older.
    """
    logs = RequestLog.objects.filter(environment=environment, timestamp__gte=since, timestamp__lte=until)
    if route_id is not None:
        logs = logs.filter(route_id=route_id)
    return logs.filter(status__in=status_codes).count(), logs.count()


def observed_value(rule_type: str, totals: Metrics, percentile: int = 95, failures: int = 0) -> float | None:
    """The number a rule of this type compares with its threshold; None when there is nothing to measure.

    Rates are percentages here (thresholds read "error rate > 5%"); `failures` is request_failures' count.
    The error rate is the health verdict's error share (analytics.health: 5xx and gateway errors, each
    call once), so a rule and the health cards never disagree about the same calls.
    """
    if rule_type == RuleType.ERROR_RATE:
        rate = totals.error_rate
        return None if rate is None else round(100.0 * rate, 3)
    if rule_type == RuleType.LATENCY:
        return totals.percentile(percentile)
    counts = {
        RuleType.REQUEST_FAILURES: failures,
        RuleType.RATE_LIMIT_EXCEEDED: totals.rate_limited,
        RuleType.UNAUTHORIZED_CLIENT: totals.unauthorized,
        RuleType.REQUEST_VOLUME: totals.total,
    }
    return float(counts[rule_type])
