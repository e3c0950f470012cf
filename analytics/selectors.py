"""Reads of the analytics app: window figures and time series from buckets, health verdicts, log queries.

`window_metrics` is the function other apps call (alerts evaluates its rules with it): it merges the
per-minute buckets of any environments, routes and time range into one Metrics per environment.
"""

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from environments.models import Environment

from . import histogram
from .health import DEFAULT_THRESHOLDS, health_verdict, share
from .models import MetricBucket, RequestLog
from .rollup import COUNTERS, minute_of

WINDOWS: dict[str, timedelta] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
# Time-series step per window, so every chart has between 15 and 96 points.
STEPS: dict[str, timedelta] = {
    "15m": timedelta(minutes=1),
    "1h": timedelta(minutes=2),
    "24h": timedelta(minutes=15),
    "7d": timedelta(hours=2),
}
HEALTH_WINDOW = timedelta(minutes=5)
STATUS_CHART_WINDOW = timedelta(hours=1)  # the health page's per-minute status-class charts


@dataclass
class Metrics:
    """Totals of some buckets; rates are fractions (0-1) and None when there was no traffic.

    `errors` counts each failed call once: answered 5xx or failed by the gateway (analytics.health).
    """

    total: int = 0
    status_2xx: int = 0
    status_3xx: int = 0
    status_4xx: int = 0
    status_5xx: int = 0
    gateway_errors: int = 0
    errors: int = 0
    rate_limited: int = 0
    unauthorized: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    latency_sum_ms: float = 0.0
    latency_histogram: list[int] = field(default_factory=histogram.empty)

    def add(self, bucket: MetricBucket) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(bucket, name))
        self.latency_histogram = histogram.merge([self.latency_histogram, bucket.latency_histogram or []])

    @property
    def error_rate(self) -> float | None:
        return share(self.errors, self.total)

    @property
    def rate_limited_rate(self) -> float | None:
        return share(self.rate_limited, self.total)

    @property
    def unauthorized_rate(self) -> float | None:
        return share(self.unauthorized, self.total)

    @property
    def success_rate(self) -> float | None:
        return share(self.status_2xx + self.status_3xx, self.total)

    def status_classes(self) -> dict[str, int]:
        """Calls split into disjoint classes that add up to the calls with a 2xx-5xx status.

        A gateway error (a 4xx or 5xx the gateway answered itself) is also counted in its status class;
        `errors` counts each failed call once (5xx or gateway error), so errors - gateway_errors is the
        upstream's own 5xx, and what is left of 5xx and 4xx are the gateway's.
        """
        upstream_5xx = max(0, min(self.status_5xx, self.errors - self.gateway_errors))
        gateway_4xx = max(0, self.gateway_errors - (self.status_5xx - upstream_5xx))
        return {
            "2xx": self.status_2xx,
            "3xx": self.status_3xx,
            "4xx": max(0, self.status_4xx - gateway_4xx),
            "5xx": upstream_5xx,
            "gateway": self.gateway_errors,
        }

    def percentile(self, q: float) -> float | None:
        return histogram.percentile(self.latency_histogram, q)

    @property
    def p50(self) -> float | None:
        return self.percentile(50)

    @property
    def p95(self) -> float | None:
        return self.percentile(95)

    @property
    def p99(self) -> float | None:
        return self.percentile(99)

    def as_dict(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if k != "latency_histogram"}
        return data | {
            "error_rate": self.error_rate,
            "rate_limited_rate": self.rate_limited_rate,
            "unauthorized_rate": self.unauthorized_rate,
            "success_rate": self.success_rate,
            "p50_ms": self.p50,
            "p95_ms": self.p95,
            "p99_ms": self.p99,
        }


def metric_buckets_for_window(
    *,
    environments: Iterable[str] | None = None,
    route_ids: Iterable[uuid.UUID | str] | None = None,
    since: datetime,
    until: datetime,
) -> QuerySet[MetricBucket]:
    """Buckets whose minute starts in [since rounded down to its minute, until)."""
    buckets = MetricBucket.objects.filter(minute__gte=minute_of(since), minute__lt=until)
    if environments is not None:
        buckets = buckets.filter(environment__in=list(environments))
    if route_ids is not None:
        buckets = buckets.filter(route_id__in=[uuid.UUID(str(r)) for r in route_ids])
    return buckets


def window_metrics(
    *,
    environments: Iterable[str] | None = None,
    route_ids: Iterable[uuid.UUID | str] | None = None,
    since: datetime,
    until: datetime,
) -> dict[str, Metrics]:
    """Metrics per environment over a time range; every environment asked for is present, even idle."""
    environments = list(environments) if environments is not None else None
    result: dict[str, Metrics] = {name: Metrics() for name in environments or []}
    for bucket in metric_buckets_for_window(
        environments=environments, route_ids=route_ids, since=since, until=until
    ):
        result.setdefault(bucket.environment, Metrics()).add(bucket)
    return result


RELEASE_SIDES = ("stable", "candidate")


def release_metrics_by_side(
    release_id: uuid.UUID | str, *, since: datetime, until: datetime | None = None
) -> dict[str, Metrics]:
    """Metrics of each side of a release ("stable", "candidate") from its buckets since a time.

    Buckets are per minute, so `since` is rounded down to its minute: the minute a step began also holds
    the calls of the step before it (the same release, so the same two sides). Errors are those of
    analytics.health (5xx or a gateway error, each call once); P50/P95 come from the merged histograms.
    Both sides are always present, empty when they had no calls.
    """
    sides = {side: Metrics() for side in RELEASE_SIDES}
    buckets = MetricBucket.objects.filter(release_id=str(release_id), minute__gte=minute_of(since))
    if until is not None:
        buckets = buckets.filter(minute__lt=until)
    for bucket in buckets.filter(variant__in=RELEASE_SIDES):
        sides[bucket.variant].add(bucket)
    return sides


def environment_comparison(*, window: str, route_ids: list | None) -> tuple[datetime, datetime, list[dict]]:
    """One object per environment over a named window: the JSON of the API and the compare page's data."""
    since, until = window_range(window)
    environments = environment_list()
    metrics = window_metrics(
        environments=[e.name for e in environments], route_ids=route_ids, since=since, until=until
    )
    data = [
        {
            "environment": card.environment.name,
            "display_name": card.environment.label,
            "color": card.environment.color,
            **card.metrics.as_dict(),
            "verdict": card.verdict,
            "verdict_reasons": card.reasons,
        }
        for card in environment_verdicts(environments, metrics)
    ]
    return since, until, data


@dataclass
class Series:
    """Per-step Metrics of one environment, oldest first, aligned on `starts`."""

    environment: str
    starts: list[datetime]
    points: list[Metrics]


def time_series(
    *,
    environments: list[str],
    route_ids: Iterable[uuid.UUID | str] | None = None,
    since: datetime,
    until: datetime,
    step: timedelta,
) -> list[Series]:
    start = minute_of(since)
    count = max(1, -(-int((until - start).total_seconds()) // int(step.total_seconds())))
    starts = [start + i * step for i in range(count)]
    points: dict[str, list[Metrics]] = {env: [Metrics() for _ in starts] for env in environments}
    for bucket in metric_buckets_for_window(
        environments=environments, route_ids=route_ids, since=since, until=until
    ):
        index = min(count - 1, int((bucket.minute - start) / step))
        points[bucket.environment][index].add(bucket)
    return [Series(env, starts, points[env]) for env in environments]


def window_range(window: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """(since, until) of a named window ending now; unknown names fall back to 1h."""
    until = now or timezone.now()
    return until - WINDOWS.get(window, WINDOWS["1h"]), until


def environment_list(names: Iterable[str] | None = None) -> list[Environment]:
    environments = Environment.objects.all()
    if names is not None:
        environments = environments.filter(name__in=list(names))
    return list(environments)


# --- Health -----------------------------------------------------------------------------------------------


@dataclass
class Health:
    environment: Environment
    verdict: str  # "healthy", "degraded", "down" or "idle"
    metrics: Metrics
    thresholds: dict
    reasons: list[str]


def thresholds_for(environment: str) -> dict:
    configured = settings.ANALYTICS_HEALTH_THRESHOLDS
    return DEFAULT_THRESHOLDS | configured.get("default", {}) | configured.get(environment, {})


def environment_verdicts(environments: list[Environment], metrics: dict[str, Metrics]) -> list[Health]:
    """Each environment's verdict on its figures (analytics.health), against its own thresholds."""
    cards = []
    for environment in environments:
        thresholds = thresholds_for(environment.name)
        verdict, reasons = health_verdict(metrics[environment.name], thresholds)
        cards.append(Health(environment, verdict, metrics[environment.name], thresholds, reasons))
    return cards


def environment_health(now: datetime | None = None) -> list[Health]:
    """Verdicts over the last 5 minutes (the buckets from the minute holding now - 5 min through now)."""
    until = now or timezone.now()
    environments = environment_list()
    metrics = window_metrics(
        environments=[e.name for e in environments], since=until - HEALTH_WINDOW, until=until
    )
    return environment_verdicts(environments, metrics)


# --- Request log ------------------------------------------------------------------------------------------

STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


def request_log_get(request_id: str) -> RequestLog | None:
    return RequestLog.objects.filter(request_id=request_id).order_by("id").first()


# How late a row may reach the database after its call and still be found by an id-ordered read from a
# moment: the recorder writes within a second, so only a database outage longer than this delays more.
LATE_ROW_MARGIN = timedelta(minutes=5)


def request_logs_from(logs: QuerySet[RequestLog], since: datetime) -> QuerySet[RequestLog]:
    """`logs` (already filtered on timestamp >= since) bounded by id too, for reads in id order.

    Ids grow with insertion and timestamps with calls, but the database cannot know it: asked for rows
    since a moment in id order, PostgreSQL walks the primary key from the oldest row and filters on the
    timestamp (8 s on 10 million rows, bench/request_logs.py). Any row called before since - margin was
    inserted before every row called since (given the margin), so its id is a lower bound: one index lookup.
    """
    before = (
        RequestLog.objects.filter(timestamp__lt=since - LATE_ROW_MARGIN)
        .order_by("-timestamp")
        .values_list("id", flat=True)
        .first()
    )
    return logs if before is None else logs.filter(id__gt=before)


# The console's request log pages by keyset, never by offset and count: on millions of rows COUNT(*) and
# a deep OFFSET each read the whole match, while a keyset page reads its 100 rows off the timestamp order.
REQUEST_LOG_PAGE_SIZE = 100


@dataclass
class RequestLogPage:
    rows: list[RequestLog]
    previous_cursor: str | None  # pass as `before` for the page above this one
    next_cursor: str | None  # pass as `after` for the page below this one


def encode_position(row: RequestLog) -> str:
    return f"{int(row.timestamp.timestamp() * 1_000_000)}.{row.pk}"


def decode_position(cursor: str) -> tuple[datetime, int] | None:
    micros, _, pk = cursor.partition(".")
    if not (micros.isascii() and micros.isdigit() and pk.isascii() and pk.isdigit()):
        return None
    try:
        return datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC), int(pk)
    except (OverflowError, ValueError, OSError):
        return None


def _beyond(logs: QuerySet[RequestLog], position: tuple[datetime, int], ascending: bool) -> QuerySet:
    """Rows strictly after `position` in (timestamp, id) order, ascending or descending. The plain bound on
    timestamp is redundant but lets the database start its index scan at the position."""
    moment, pk = position
    if ascending:
        return logs.filter(timestamp__gte=moment).exclude(timestamp=moment, id__lte=pk)
    return logs.filter(timestamp__lte=moment).exclude(timestamp=moment, id__gte=pk)


def request_log_page(
    logs: QuerySet[RequestLog], *, newest_first: bool, after: str = "", before: str = ""
) -> RequestLogPage:
    """One page of filtered logs in display order, from the position `after` (or up to `before`)."""
    size = REQUEST_LOG_PAGE_SIZE
    backwards = bool(before) and not after
    position = decode_position(before if backwards else after)
    ascending = newest_first == backwards  # walking up a newest-first list reads ascending
    order = ["timestamp", "id"] if ascending else ["-timestamp", "-id"]
    if position is not None:
        logs = _beyond(logs, position, ascending)
    rows = list(logs.order_by(*order)[: size + 1])
    more, rows = len(rows) > size, rows[:size]
    if backwards:
        rows.reverse()
    first, last = (encode_position(rows[0]), encode_position(rows[-1])) if rows else (None, None)
    came_from_somewhere = position is not None
    if backwards:
        return RequestLogPage(rows, first if more else None, last if came_from_somewhere else None)
    return RequestLogPage(rows, first if came_from_somewhere else None, last if more else None)
