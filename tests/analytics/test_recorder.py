"""The recorder keeps writing for everyone: odd values are cut to their columns, a row the database refuses is
dropped alone (and counted), and a database that is away loses nothing.

These run on the suite's database: SQLite by default, PostgreSQL in the CI pass with DATABASE_URL, where a
value longer than its varchar column fails the INSERT (SQLite would store it).
"""

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from django.db import connection

from analytics import recorder
from analytics.models import RequestLog
from core.audit import SYSTEM
from routing.proxy.records import RequestRecord
from routing.services import route_create
from tests.support.access import allow_local_callers
from tests.support.gateway_process import GatewayProcess

LONG_METHOD = "LONGMETHODTOKEN" * 2 + "ABCDEFGHIJ"  # 40 characters: a valid token, no known method
# 253 characters, the longest host name DNS allows (labels of 63), under .invalid so it never resolves.
LONG_HOST = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 53, "invalid"])


def wait_for_logs(request_ids: set[str], timeout: float = 30) -> dict[str, RequestLog]:
    """The rows of these calls, once the gateway process has written all of them (or at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        found = {log.request_id: log for log in RequestLog.objects.filter(request_id__in=request_ids)}
        if len(found) == len(request_ids) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def a_record(**values) -> RequestRecord:
    fields = {
        "request_id": uuid.uuid4().hex,
        "timestamp": time.time(),
        "route_id": None,
        "route_slug": "t",
        "environment": "production",
        "method": "GET",
        "path": "/p",
        "query": "",
        "status": 200,
        "latency_ms": 1.0,
        "bytes_in": 0,
        "bytes_out": 0,
        "client_ip": "127.0.0.1",
        "upstream_host": "u",
        "error_code": "",
    }
    return RequestRecord(**{**fields, **values})


def test_it_keeps_logging_after_a_long_method_token_and_a_long_target_host(environments, upstream):
    assert len(LONG_HOST) == 253 and len(LONG_METHOD) == 40
    allow_local_callers(route_create(actor=SYSTEM, name="Demo", slug="demo", target_base_url=upstream.url))
    allow_local_callers(
        route_create(actor=SYSTEM, name="Far", slug="far", target_base_url=f"http://{LONG_HOST}:8080")
    )
    gateway = GatewayProcess({"KNOXCALL_RECORDER_FLUSH_SECONDS": "0.1"}).start()
    try:
        with httpx.Client(base_url=gateway.url, timeout=30) as client:
            # The server refuses an unknown method token itself (JSON 400), before anything is recorded.
            odd_method = client.request(LONG_METHOD, "/odd", headers={"x-knoxcall-route": "demo"})
            far = client.get("/far", headers={"x-knoxcall-route": "far"})
            time.sleep(0.5)  # let the odd call go out in a batch of its own, as in the reported failure
            after = [client.get(f"/after/{i}", headers={"x-knoxcall-route": "demo"}) for i in range(3)]
    finally:
        gateway.stop()
    assert odd_method.status_code == 400 and odd_method.json()["code"] == "bad_request"
    ids = {answer.headers["x-request-id"] for answer in [far, *after]}
    logs = wait_for_logs(ids)
    assert set(logs) == ids
    host_row = logs[far.headers["x-request-id"]]
    assert host_row.status == 502 and host_row.upstream_host == f"{LONG_HOST}:8080"[:255]


def test_it_bounds_every_recorded_value_to_its_column(transactional_db):
    recorder.flush()
    long_one = a_record(
        method=LONG_METHOD, upstream_host="h" * 300, path="/" + "p" * 3000, route_slug="s" * 200
    )
    normal = [a_record() for _ in range(3)]
    for entry in [long_one, *normal]:
        recorder.record(entry)
    recorder.flush()
    rows = {log.request_id: log for log in RequestLog.objects.all()}
    assert set(rows) == {entry.request_id for entry in [long_one, *normal]}
    bounded = rows[long_one.request_id]
    assert (len(bounded.method), len(bounded.upstream_host), len(bounded.path)) == (16, 255, 2048)


def test_it_stores_each_call_at_its_instant_whatever_the_zone_it_was_taken_in(transactional_db):
    recorder.flush()
    instants = [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),  # whole seconds print shorter
        datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC),
    ]
    records = [a_record(timestamp=instant.timestamp()) for instant in instants]
    assert stored_as(records, "timestamp") == instants


def test_it_records_the_names_of_the_secrets_a_call_used_as_they_are(transactional_db):
    recorder.flush()
    names = [[], ["STRIPE_KEY"], ['quote"d', "clé", "back\\slash"]]
    assert stored_as([a_record(secrets_used=used) for used in names], "secrets_used") == names


def stored_as(entries: list, column: str) -> list:
    """Record the entries through the recorder; each one's `column` as the request log stored it."""
    for entry in entries:
        recorder.record(entry)
    recorder.flush()
    stored = dict(RequestLog.objects.values_list("request_id", column))
    return [stored[entry.request_id] for entry in entries]


@pytest.mark.parametrize(
    "poison_values",
    [
        # No column holds this byte count: PostgreSQL refuses it (bigint), SQLite's driver too.
        {"bytes_in": 2**70},
        {"timestamp": None},  # the column is NOT NULL
        {"timestamp": "yesterday"},  # not an instant: its converter raises TypeError before the database
    ],
    ids=["too-large", "no-instant", "not-an-instant"],
)
def test_it_drops_only_the_row_the_database_refuses_and_counts_it(transactional_db, poison_values):
    recorder.flush()
    rejected = recorder.stats.rejected
    poison = a_record(**poison_values)
    good = [a_record(), a_record()]
    for entry in (good[0], poison, good[1]):
        recorder.record(entry)
    recorder.flush()
    stored = set(RequestLog.objects.values_list("request_id", flat=True))
    assert {entry.request_id for entry in good} <= stored
    assert poison.request_id not in stored
    assert recorder.stats.rejected == rejected + 1
    later = a_record()
    recorder.record(later)
    recorder.flush()
    assert RequestLog.objects.filter(request_id=later.request_id).exists()


def test_it_keeps_every_record_queued_while_the_database_cannot_take_them(transactional_db):
    recorder.flush()
    rejected = recorder.stats.rejected
    entries = [a_record() for _ in range(5)]
    table, quote = RequestLog._meta.db_table, connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {quote(table)} RENAME TO {quote(table + '_away')}")
    try:
        for entry in entries:
            recorder.record(entry)
        with pytest.raises(Exception):  # noqa: B017 - "no such table" is OperationalError or ProgrammingError
            recorder.flush()
    finally:
        connection.close()  # PostgreSQL may have left the connection in an aborted transaction
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {quote(table + '_away')} RENAME TO {quote(table)}")
    recorder.flush()
    assert RequestLog.objects.filter(request_id__in=[e.request_id for e in entries]).count() == 5
    assert recorder.stats.rejected == rejected


def test_it_counts_what_became_of_every_record_and_says_so_at_shutdown(transactional_db, caplog):
    recorder.flush()
    written, enqueued = recorder.stats.written, recorder.stats.enqueued
    entries = [a_record() for _ in range(3)]
    for entry in entries:
        recorder.record(entry)
    assert recorder.stats.enqueued == enqueued + 3 and recorder.stats.deepest_queue >= 0
    try:
        with caplog.at_level(logging.INFO, logger="analytics.recorder"):
            recorder.stop()
    finally:
        # The writer thread is the process's: the in-process gateway of later tests needs it running.
        recorder.start()
    assert recorder.stats.written == written + 3
    assert RequestLog.objects.filter(request_id__in=[e.request_id for e in entries]).count() == 3
    line = next(r for r in caplog.records if r.getMessage().startswith("request log recorder: "))
    # A warning only when this process has lost a record (earlier tests in this process may have).
    lost = recorder.stats.dropped or recorder.stats.rejected
    assert line.levelno == (logging.WARNING if lost else logging.INFO)
    assert f"{written + 3} written, 0 dropped" in line.getMessage() and "0 waiting" in line.getMessage()
