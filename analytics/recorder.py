"""The proxy's recorder: `record()` queues a call's facts, a background thread writes them in batches.

A server runs it in a child process (analytics/writer_process.py, which feeds it what the proxy ships);
in-process tests, and servers with PROXY_RECORDER_PROCESS off, run it in a thread beside the event loop.

`record()` is a deque append, so the proxy never waits for the database; the writer thread flushes every
PROXY_RECORDER_FLUSH_SECONDS or PROXY_RECORDER_BATCH_SIZE rows with one bulk insert. A clean shutdown
flushes what is queued (atexit and the ASGI lifespan both call `flush`). When the database is down the rows
wait in memory up to PROXY_RECORDER_MAX_QUEUE and are retried; past that the oldest are dropped and counted.

One odd call must never stop logging for everyone: every text value is cut to its column's max_length, and
a batch the database refuses for its data (DataError, IntegrityError) is written again row by row, so only
the row it cannot store is dropped (counted in `stats.rejected` and logged with the reason). Any other
error (the database is down, locked, or not migrated) keeps the whole batch queued for the next attempt.
"""

import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from itertools import chain
from json.encoder import encode_basestring_ascii
from operator import attrgetter

from django.conf import settings
from django.db import DataError, IntegrityError, connection, models, transaction

from knoxcall.lib.flusher import PeriodicFlusher
from routing.proxy.records import RequestRecord

log = logging.getLogger(__name__)

# Errors that belong to one row's values: retrying cannot help, but the batch's other rows can be written.
# ValueError and OverflowError come from drivers that refuse a value before the server sees it (an integer
# too large for SQLite, a NUL byte for PostgreSQL is raised as DataError by psycopg); TypeError from a value
# of a type its column's converter cannot take (an instant that is not a number).
ROW_DATA_ERRORS = (DataError, IntegrityError, ValueError, OverflowError, TypeError)


class Stats:
    """What became of the records this process queued; `enqueued` is derived so `record()` counts nothing
    on the hot path except a drop."""

    written = 0  # rows inserted
    dropped = 0  # oldest records discarded because the queue was full (the database was away too long)
    rejected = 0  # records the database refused for their values, dropped so the rest could be written
    deepest_queue = 0  # the most records waiting before a batch: a writer falling behind shows here

    @property
    def enqueued(self) -> int:
        return self.written + self.dropped + self.rejected + len(_queue)

    def summary(self) -> str:
        return (
            f"{self.enqueued} queued, {self.written} written, {self.dropped} dropped (queue full), "
            f"{self.rejected} rejected by the database, {len(_queue)} waiting, "
            f"deepest queue {self.deepest_queue}"
        )


stats = Stats()
_queue: deque[RequestRecord] = deque()
ROWS_PER_STATEMENT = 100  # SQLite: a statement's values, bound in one call while the GIL is held
_flush_lock = threading.Lock()


def record(entry: RequestRecord) -> None:
    """Queue one call's record; never blocks, never touches the database."""
    if len(_queue) >= settings.PROXY_RECORDER_MAX_QUEUE:
        _queue.popleft()
        stats.dropped += 1
    _queue.append(entry)
    if len(_queue) >= settings.PROXY_RECORDER_BATCH_SIZE:
        _writer.wake()


def _take_batch() -> list[RequestRecord]:
    stats.deepest_queue = max(stats.deepest_queue, len(_queue))  # before every batch, so a lag shows
    batch = []
    while _queue and len(batch) < settings.PROXY_RECORDER_BATCH_SIZE:
        batch.append(_queue.popleft())
    return batch


def _bounded(convert: Callable | None, max_length: int | None) -> Callable | None:
    """The value converter of one column, cutting text to the column's length (a 40-character method token
    or a 253-character host would otherwise fail the whole INSERT on PostgreSQL)."""
    if max_length is None:
        return convert
    if convert is None:
        return lambda v: v[:max_length] if isinstance(v, str) else v
    return lambda v: convert(v[:max_length] if isinstance(v, str) else v)


def _sqlite_datetime(tz: tzinfo) -> Callable[[float], str]:
    """A record's instant as SQLite's adapt_datetimefield_value stores an aware value under USE_TZ (naive
    text in the connection's zone), without its per-call checks."""

    def adapt(instant: float | None) -> str | None:
        if instant is None:
            return None  # refused by the column (NOT NULL), so the row alone is dropped
        return str(datetime.fromtimestamp(instant, tz).replace(tzinfo=None))

    return adapt


def _datetime(adapt: Callable[[datetime], object]) -> Callable[[float | None], object]:
    """A record's instant as the backend's own adapter stores an aware datetime."""
    return lambda instant: None if instant is None else adapt(datetime.fromtimestamp(instant, UTC))


def _uuid_hex(value: str | None) -> str | None:
    """A UUID as a database without a native UUID type stores it (32 hex digits)."""
    return value.replace("-", "") if value else value


def _json(value: object) -> str:
    """json.dumps of the names of the secrets a call injected, without the encoder it sets up per call (four
    times the cost of encoding a few names)."""
    if type(value) is list:
        try:
            return f"[{', '.join(map(encode_basestring_ascii, value))}]"
        except TypeError:  # not a list of names: json.dumps encodes it, or says why not
            pass
    return json.dumps(value)


def _statement() -> tuple[list[str], Callable[[RequestRecord], list]]:
    """The columns in the order `parameters` gives their values, and `parameters`, derived from the model.

    Plain lists for executemany and COPY: building model instances cost as much CPU as proxying the calls.
    Columns the record does not carry (e.g. rollup bookkeeping) come last and take their model default.
    The recorded values are read in one attrgetter call and only the columns that need it are converted:
    this runs once per proxied call.
    """
    from .models import RequestLog

    recorded_names = {f.name for f in fields(RequestRecord)}
    model_fields = [f for f in RequestLog._meta.concrete_fields if not f.primary_key]
    recorded = [f for f in model_fields if f.name in recorded_names]
    unrecorded = [f for f in model_fields if f.name not in recorded_names]
    defaults = [f.get_db_prep_save(f.get_default(), connection) for f in unrecorded]
    native_uuid = connection.features.has_native_uuid_field
    uuid_text = None if native_uuid else _uuid_hex
    convert: dict[str, Callable | None] = {
        "timestamp": (
            _sqlite_datetime(connection.timezone)
            if connection.vendor == "sqlite" and settings.USE_TZ
            else _datetime(connection.ops.adapt_datetimefield_value)
        ),
        "secrets_used": _json,
        "route_id": uuid_text,
        "api_key_id": uuid_text,
        "release_id": lambda v: (v if native_uuid else _uuid_hex(v)) or None,  # "" when no release split it
    }
    bounded = [
        _bounded(convert.get(f.name), f.max_length if isinstance(f, models.CharField) else None)
        for f in recorded
    ]
    converters = [(position, converter) for position, converter in enumerate(bounded) if converter]
    values = attrgetter(*(f.name for f in recorded))

    def parameters(entry: RequestRecord) -> list:
        row = [*values(entry), *defaults]
        for position, converter in converters:
            row[position] = converter(row[position])
        return row

    return [f.column for f in recorded + unrecorded], parameters


def _insert_sql(columns: list[str]) -> str:
    from .models import RequestLog

    quote = connection.ops.quote_name
    return (
        f"INSERT INTO {quote(RequestLog._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )


def _insert(batch: list[RequestRecord]) -> None:
    """The whole batch in one transaction: COPY on PostgreSQL, multi-row INSERTs on SQLite.

    Through the driver (Django's errors still): the batch is a few statements, so Django's query logging
    and wrappers around them only cost time.
    """
    columns, parameters = _statement()
    rows = [parameters(entry) for entry in batch]
    with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
        if connection.vendor == "postgresql":
            _copy(cursor.cursor, columns, rows)
        else:
            _insert_many(columns, rows)


def _insert_many(columns: list[str], rows: list[list]) -> None:
    """Statements of ROWS_PER_STATEMENT rows, the rest one row a step.

    executemany steps once per row, and in a writer thread every step lets go of the GIL and must win it
    back from a busy event loop (up to the switch interval each time): at full load it fell behind the proxy.
    Statements of many rows do that once each. Their length is fixed because SQLite's module keeps every
    distinct statement prepared (128 of them): one for each batch length grew the writer's memory by about
    6 MiB a second under load, each statement of ~1,500 rows holding megabytes.
    """
    per_statement = min(ROWS_PER_STATEMENT, max(1, connection.features.max_query_params // len(columns)))
    whole = len(rows) - len(rows) % per_statement
    sql = _multi_row_sql(tuple(columns), per_statement)
    for start in range(0, whole, per_statement):
        connection.connection.execute(sql, list(chain(*rows[start : start + per_statement])))
    if whole < len(rows):
        connection.connection.executemany(_multi_row_sql(tuple(columns), 1), rows[whole:])


@lru_cache(maxsize=4)
def _multi_row_sql(columns: tuple[str, ...], rows: int) -> str:
    from .models import RequestLog

    quote = connection.ops.quote_name
    row = f"({', '.join('?' * len(columns))})"
    return (
        f"INSERT INTO {quote(RequestLog._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES {', '.join([row] * rows)}"
    )


def _copy(cursor, columns: list[str], rows: list[list]) -> None:
    """COPY … FROM STDIN: one stream instead of a statement per row. Measured once, on a loaded machine
    with the eleven old indexes: 7,100 → 8,000 rows/s in batches of 500 and 5,500 → 8,300 in batches of
    2,000 against executemany; the indexes, not the protocol, set the rate (bench/request_logs.py)."""
    from .models import RequestLog

    quote = connection.ops.quote_name
    with cursor.copy(
        f"COPY {quote(RequestLog._meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)


def _insert_one_by_one(batch: list[RequestRecord]) -> int:
    """Write each row on its own, dropping (and counting) the rows the database refuses for their values.

    Any other error stops here: the rows not yet written go back to the queue and the error propagates, so
    a database outage met half-way loses nothing.
    """
    columns, parameters = _statement()
    sql = _insert_sql(columns)
    written = 0
    for position, entry in enumerate(batch):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, parameters(entry))
        except ROW_DATA_ERRORS as exc:
            stats.rejected += 1
            log.error(
                "request log %s dropped: the database refused its values (%s: %s); %d dropped so far",
                entry.request_id[:128],
                type(exc).__name__,
                str(exc)[:300],
                stats.rejected,
            )
            continue
        except Exception:
            _queue.extendleft(reversed(batch[position:]))
            raise
        written += 1
    return written


def flush() -> int:
    """Write everything queued now; returns the number of rows written."""
    written = 0
    with _flush_lock:
        while batch := _take_batch():
            try:
                _insert(batch)
            except ROW_DATA_ERRORS:
                rows = _insert_one_by_one(batch)  # one bad row must not hold back the others
                written += rows
                stats.written += rows
                continue
            except Exception:
                _queue.extendleft(reversed(batch))  # keep them for the next attempt, in order
                raise
            written += len(batch)
            stats.written += len(batch)
    return written


_writer = PeriodicFlusher("knoxcall-recorder", flush, lambda: settings.PROXY_RECORDER_FLUSH_SECONDS)
wake = _writer.wake


def waiting() -> int:
    return len(_queue)


def start() -> None:
    """Start writing: from a child process when PROXY_RECORDER_PROCESS is on and the database is not in
    this process's memory (the child then becomes the proxy's writer), else from a thread of this one."""
    from routing.proxy import records

    from . import writer_process

    if settings.PROXY_RECORDER_PROCESS and writer_process.supported():
        child = writer_process.ChildWriter()
        records.install(child)
        child.start()
    else:
        _writer.start()


def stop() -> None:
    """End the writer (flushing what is queued) and say what became of this process's records: the soak
    benchmark reads this line, and an operator sees drops without a metrics system."""
    try:
        _writer.stop()
    finally:
        level = logging.WARNING if stats.dropped or stats.rejected or _queue else logging.INFO
        log.log(level, "request log recorder: %s", stats.summary())
