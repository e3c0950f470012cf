"""Rolled-up traffic for tests that read figures (a deployment's watch): one minute, written directly."""

from analytics import histogram
from analytics.models import MetricBucket


def latencies(latency_ms: float, calls: int) -> list[int]:
    """A latency histogram of `calls` calls that all took about `latency_ms`."""
    counts = histogram.empty()
    counts[histogram.bucket_index(latency_ms)] = calls
    return counts


def minute_bucket(
    environment: str, route, minute, total: int, errors: int, latency_ms: float | None = None
) -> None:
    """One minute of a route's calls in an environment: `errors` of them 5xx, the rest 2xx; no latencies
    unless `latency_ms` is given."""
    MetricBucket.objects.create(
        route_id=route.pk,
        environment=environment,
        minute=minute.replace(second=0, microsecond=0),
        total=total,
        status_2xx=total - errors,
        status_5xx=errors,
        errors=errors,
        latency_histogram=latencies(latency_ms, total) if latency_ms is not None else histogram.empty(),
    )
