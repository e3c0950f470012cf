"""Fold request logs into per-minute MetricBucket rows, exactly once per log row.

Each batch is one transaction that (1) claims pending rows (`rolled_up = false`), (2) adds their figures
to the buckets and (3) marks the rows rolled up. Because the mark commits with the bucket increments, a
row is counted once whatever happens: a second run finds nothing pending, a late row (older timestamp,
inserted after its minute was rolled up) is simply pending and is added to the existing bucket, and
PostgreSQL ids committing out of order do not matter because no id watermark is kept.

Two workers at once: on PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`, so workers take disjoint rows,
and bucket rows are created then locked in one sorted order, so concurrent increments serialize without
deadlocks. On SQLite every transaction is IMMEDIATE (settings), so batches simply take turns.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from . import histogram
from .live import broadcast_rollup
from .models import MetricBucket, RequestLog, RollupState

log = logging.getLogger(__name__)

# Refusals of the caller are counted in their own columns (rate-limited, unauthorized), and a caller that
# hung up is not a failure of the service; every other code the gateway sets is a gateway error, whatever
# its status (the 502 of an unreachable upstream included).
NOT_GATEWAY_ERRORS = frozenset(
    {"", "rate_limited", "invalid_api_key", "ip_not_authorized", "client_disconnected"}
)
COUNTERS = (
    "total",
    "status_2xx",
    "status_3xx",
    "status_4xx",
    "status_5xx",
    "gateway_errors",
    "errors",
    "rate_limited",
    "unauthorized",
    "bytes_in",
    "bytes_out",
    "latency_sum_ms",
)
LOG_FIELDS = (
    "id",
    "route_id",
    "environment",
    "timestamp",
    "status",
    "latency_ms",
    "bytes_in",
    "bytes_out",
    "error_code",
    "release_id",
    "variant",
)
BucketKey = tuple  # (route_id, environment, release_id, variant, minute)


@dataclass
class RollupResult:
    rows: int = 0
    buckets: int = 0


def rollup(*, batch_size: int | None = None, max_batches: int | None = None) -> RollupResult:
    """Fold every pending request log into buckets; safe to run twice and from two workers at once."""
    batch_size = batch_size or settings.ANALYTICS_ROLLUP_BATCH_SIZE
    result = RollupResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        rows, buckets = _rollup_batch(batch_size)
        if not rows:
            break
        result.rows += rows
        result.buckets += buckets
        batches += 1
    if result.rows:
        _bump_marker()
        transaction.on_commit(broadcast_rollup)
    return result


@transaction.atomic
def _rollup_batch(batch_size: int) -> tuple[int, int]:
    _one_batch_at_a_time()
    pending = RequestLog.objects.filter(rolled_up=False).order_by("id")
    if connection.features.has_select_for_update_skip_locked:
        pending = pending.select_for_update(skip_locked=True)
    rows = list(pending.values_list(*LOG_FIELDS)[:batch_size])
    if not rows:
        return 0, 0
    increments = fold(rows)
    _apply(increments)
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), 5000):
        RequestLog.objects.filter(id__in=ids[start : start + 5000]).update(rolled_up=True)
    return len(rows), len(increments)


def fold(rows: Iterable[tuple]) -> dict[BucketKey, dict]:
    """Pure: log rows (LOG_FIELDS order) to per-bucket increments, histograms included."""
    increments: dict[BucketKey, dict] = {}
    for _id, route_id, environment, timestamp, status, latency, b_in, b_out, code, release, variant in rows:
        key = (
            route_id or MetricBucket.NO_ROUTE,
            environment,
            str(release) if release else "",
            variant or "",
            minute_of(timestamp),
        )
        bucket = increments.get(key)
        if bucket is None:
            bucket = increments[key] = dict.fromkeys(COUNTERS, 0) | {"latency_histogram": histogram.empty()}
        bucket["total"] += 1
        if 200 <= status < 600:
            bucket[f"status_{status // 100}xx"] += 1
        gateway_error = code not in NOT_GATEWAY_ERRORS
        bucket["gateway_errors"] += gateway_error
        # A gateway 502 is both a 5xx and a gateway error: `errors` counts each failed call once.
        bucket["errors"] += gateway_error or status >= 500
        bucket["rate_limited"] += status == 429
        bucket["unauthorized"] += status in (401, 403)
        bucket["bytes_in"] += b_in
        bucket["bytes_out"] += b_out
        bucket["latency_sum_ms"] += latency
        bucket["latency_histogram"][histogram.bucket_index(latency)] += 1
    return increments


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _apply(increments: dict[BucketKey, dict]) -> None:
    """Add increments to their buckets: create missing rows, lock them in id order, update."""
    keys = sorted(increments, key=lambda k: (str(k[0]), *k[1:]))
    ids = _bucket_ids(keys)
    missing = [k for k in keys if k not in ids]
    if missing:
        MetricBucket.objects.bulk_create(
            [
                MetricBucket(
                    route_id=r,
                    environment=e,
                    release_id=release,
                    variant=variant,
                    minute=m,
                    latency_histogram=histogram.empty(),
                )
                for r, e, release, variant, m in missing
            ],
            ignore_conflicts=True,  # another worker may have created some since the lookup
            batch_size=500,
        )
        ids |= _bucket_ids(missing)
    updates = []
    # One global lock order (ids ascending) for every worker, so concurrent batches cannot deadlock.
    ordered = sorted(ids.values())
    for start in range(0, len(ordered), 500):
        locked = (
            MetricBucket.objects.filter(id__in=ordered[start : start + 500])
            .order_by("id")
            .select_for_update()
        )
        for row in locked.values_list(
            "id", "route_id", "environment", "release_id", "variant", "minute", *COUNTERS, "latency_histogram"
        ):
            add = increments[row[1:6]]
            counters = [old + add[name] for name, old in zip(COUNTERS, row[6:-1], strict=True)]
            merged = histogram.merge([row[-1] or [], add["latency_histogram"]])
            updates.append((*counters, _HISTOGRAM_FIELD.get_db_prep_save(merged, connection), row[0]))
    _write_buckets(updates)


_HISTOGRAM_FIELD = MetricBucket._meta.get_field("latency_histogram")


def _write_buckets(updates: list[tuple]) -> None:
    # One prepared UPDATE run many times: much cheaper than bulk_update's CASE expressions per batch.
    table = connection.ops.quote_name(MetricBucket._meta.db_table)
    columns = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in [*COUNTERS, "latency_histogram"])
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {columns} WHERE id = %s", updates)


def _bucket_ids(keys: list[BucketKey]) -> dict[BucketKey, int]:
    wanted = set(keys)
    found: dict[BucketKey, int] = {}
    for start in range(0, len(keys), 300):
        chunk = keys[start : start + 300]
        rows = MetricBucket.objects.filter(
            route_id__in={k[0] for k in chunk},
            environment__in={k[1] for k in chunk},
            minute__in={k[4] for k in chunk},
        ).values_list("route_id", "environment", "release_id", "variant", "minute", "id")
        found.update({row[:5]: row[5] for row in rows if row[:5] in wanted})
    return found


def _one_batch_at_a_time() -> None:
    """Lock the marker row for this batch's transaction. Two tasks roll up before reading buckets (the alert
    evaluation and the release judge); were batches to run side by side, one could find nothing pending
    while the other's rows were claimed but not yet folded, and read buckets without them. Serialised, a
    rollup that finds nothing pending has seen every earlier batch committed."""
    RollupState.objects.bulk_create([RollupState(id=1)], ignore_conflicts=True)
    list(RollupState.objects.select_for_update().filter(id=1).values_list("id", flat=True))


def _bump_marker() -> None:
    updated = RollupState.objects.filter(id=1).update(version=F("version") + 1, rolled_at=timezone.now())
    if not updated:
        RollupState.objects.bulk_create(
            [RollupState(id=1, version=1, rolled_at=timezone.now())], ignore_conflicts=True
        )


def purge(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete rolled-up logs older than the retention; rows not yet rolled up are kept until they are.

    Batches of their own transaction (a DELETE locks only its rows, so the recorder's inserts never wait),
    newest expired first, each starting at the timestamp where the previous one stopped: deleted rows stay
    in the timestamp index until vacuum, and a batch that started at the cutoff again would walk past all
    of them. bench/request_logs.py times it on 10 million rows while the recorder inserts.
    """
    bound = cutoff = (now or timezone.now()) - timedelta(days=settings.ANALYTICS_RETENTION_DAYS)
    expired = RequestLog.objects.filter(timestamp__lt=cutoff, rolled_up=True).order_by("-timestamp")
    deleted = 0
    while batch := list(expired.filter(timestamp__lte=bound).values_list("id", "timestamp")[:batch_size]):
        deleted += RequestLog.objects.filter(id__in=[pk for pk, _ in batch]).delete()[0]
        bound = batch[-1][1]
    return deleted
