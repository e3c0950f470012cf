"""Reads of releases for the /v1 endpoints and the console's Releases tab: lists, and both sides' figures.

They live here rather than in routing because the measured figures come from analytics (per-side buckets),
which sits above routing in the dependency order.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from analytics.models import MetricBucket
from analytics.rollup import minute_of
from analytics.selectors import Metrics, Series, release_metrics_by_side
from environments.models import Environment
from routing.models import Release, ReleaseCheck, Route

SIDES = ("stable", "candidate")


@dataclass
class SideFigures:
    """One side of a release since its step began: calls, errors, latency, and its measured share."""

    side: str
    metrics: Metrics
    share: float | None  # of both sides' calls; None before any call

    def as_dict(self) -> dict:
        m = self.metrics
        return {
            "calls": m.total,
            "errors": m.errors,
            "error_rate": m.error_rate,
            "p50_ms": m.p50,
            "p95_ms": m.p95,
            "share": self.share,
        }


def release_or_404(ident: str) -> Release:
    try:
        release_id = uuid.UUID(str(ident))
    except ValueError:
        raise Http404(f"No release '{ident}'.") from None
    release = Release.objects.select_related("route", "environment").filter(pk=release_id).first()
    if release is None:
        raise Http404(f"No release '{ident}'.")
    return release


def release_history(route: Route, environment: Environment) -> QuerySet[Release]:
    return Release.objects.filter(route=route, environment=environment).select_related("route", "environment")


def active_release(route: Route, environment: Environment) -> Release | None:
    return release_history(route, environment).filter(state__in=("running", "paused", "waiting")).first()


def release_checks(release: Release) -> QuerySet[ReleaseCheck]:
    return ReleaseCheck.objects.filter(release=release)


def release_sides(release: Release) -> dict[str, SideFigures]:
    """Both sides since the current step began (since the start for a finished release's last step)."""
    since = release.step_started_at or release.created_at
    metrics = release_metrics_by_side(release.pk, since=since, until=release.finished_at)
    total = sum(m.total for m in metrics.values())
    return {
        side: SideFigures(side, metrics[side], metrics[side].total / total if total else None)
        for side in SIDES
    }


def release_series(release: Release, minutes: int = 30) -> dict[str, Series]:
    """Per-minute figures of each side over the last `minutes` of the release (the console's charts)."""
    until = release.finished_at or timezone.now()
    start = minute_of(max(release.created_at, until - timedelta(minutes=minutes)))
    starts = [start + timedelta(minutes=i) for i in range(int((until - start) / timedelta(minutes=1)) + 1)]
    points = {side: [Metrics() for _ in starts] for side in SIDES}
    buckets = MetricBucket.objects.filter(release_id=str(release.pk), variant__in=SIDES, minute__gte=start)
    for bucket in buckets:
        index = int((bucket.minute - start) / timedelta(minutes=1))
        if 0 <= index < len(starts):
            points[bucket.variant][index].add(bucket)
    return {side: Series(side, starts, points[side]) for side in SIDES}
