"""The proxy's recorder: `record()` queues a call's facts, a background thread writes them in batches.

`record()` is a deque append, so the proxy never waits for the database; the writer thread flushes every
PROXY_RECORDER_FLUSH_SECONDS or PROXY_RECORDER_BATCH_SIZE rows with one bulk insert. A clean shutdown
flushes what is queued (atexit and the ASGI lifespan both call `flush`). When the database is down the rows
wait in memory up to PROXY_RECORDER_MAX_QUEUE and are retried; past that the oldest are dropped and counted.
"""

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from knoxcall.lib.flusher import PeriodicFlusher


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    timestamp: datetime
    route_id: str | None
    route_slug: str
    environment: str
    method: str
    path: str
    query: str
    status: int
    latency_ms: float
    bytes_in: int
    bytes_out: int
    client_ip: str | None
    upstream_host: str
    error_code: str
    api_key_id: str | None = None
    secrets_used: list[str] = field(default_factory=list)


_queue: deque[RequestRecord] = deque()
_flush_lock = threading.Lock()
dropped = 0


def record(entry: RequestRecord) -> None:
    """Queue one call's record; never blocks, never touches the database."""
    global dropped
    if len(_queue) >= settings.PROXY_RECORDER_MAX_QUEUE:
        _queue.popleft()
        dropped += 1
    _queue.append(entry)
    if len(_queue) >= settings.PROXY_RECORDER_BATCH_SIZE:
        _writer.wake()


def _take_batch() -> list[RequestRecord]:
    batch = []
    while _queue and len(batch) < settings.PROXY_RECORDER_BATCH_SIZE:
        batch.append(_queue.popleft())
    return batch


def _insert(batch: list[RequestRecord]) -> None:
    """One executemany of plain tuples: building model instances cost as much CPU as proxying the calls.

    Columns the record does not carry (e.g. rollup bookkeeping) take their model default.
    """
    from .models import RequestLog

    quote = connection.ops.quote_name
    recorded = {f.name for f in fields(RequestRecord)}
    model_fields = [f for f in RequestLog._meta.concrete_fields if not f.primary_key]
    native_uuid = connection.features.has_native_uuid_field
    uuid_text = (lambda v: v) if native_uuid else (lambda v: v.replace("-", "") if v else v)
    convert: dict[str, Callable] = {
        "timestamp": connection.ops.adapt_datetimefield_value,
        "secrets_used": json.dumps,
        "route_id": uuid_text,
        "api_key_id": uuid_text,
    }
    defaults = {
        f.column: f.get_db_prep_save(f.get_default(), connection)
        for f in model_fields
        if f.name not in recorded
    }
    columns = [f.column for f in model_fields]
    sql = (
        f"INSERT INTO {quote(RequestLog._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    getters = [
        (f.name, convert.get(f.name), f.name in recorded, defaults.get(f.column)) for f in model_fields
    ]
    rows = [
        tuple(
            (conv(getattr(entry, name)) if conv else getattr(entry, name)) if has else default
            for name, conv, has, default in getters
        )
        for entry in batch
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def flush() -> int:
    """Write everything queued now; returns the number of rows written."""
    written = 0
    with _flush_lock:
        while batch := _take_batch():
            try:
                _insert(batch)
            except Exception:
                _queue.extendleft(reversed(batch))  # keep them for the next attempt, in order
                raise
            written += len(batch)
    return written


_writer = PeriodicFlusher("knoxcall-recorder", flush, lambda: settings.PROXY_RECORDER_FLUSH_SECONDS)
start = _writer.start
stop = _writer.stop
