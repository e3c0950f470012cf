"""The request log's child-process writer: every record reaches the database through a real child on the
suite's database; one that dies is replaced; one that stops reading never blocks the proxy, which keeps up
to PROXY_RECORDER_MAX_QUEUE records and counts the oldest it had to let go."""

import logging
import os
import signal
import time

import pytest

from analytics.models import RequestLog
from analytics.writer_process import FRAME_HEAD, ChildWriter
from tests.analytics.test_recorder import a_record

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_rows(count: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while (found := RequestLog.objects.count()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_every_record_reaches_the_database_by_a_clean_stop(caplog):
    writer = ChildWriter()
    writer.start()
    records = [a_record(path=f"/p/{i}") for i in range(700)]  # two frames of 256 and a rest of 188
    for entry in records:
        writer.record(entry)
    with caplog.at_level(logging.INFO, logger="analytics.writer_process"):
        writer.stop()
    assert writer.shipped == 700 and writer.dropped == 0
    stored = set(RequestLog.objects.values_list("request_id", flat=True))
    assert stored == {entry.request_id for entry in records}
    assert "700 shipped to the writer process, 0 dropped (writer behind), 0 unsent" in caplog.text


def test_records_wait_no_longer_than_the_ship_interval_at_a_low_rate():
    writer = ChildWriter()
    writer.start()
    try:
        writer.record(a_record())  # far fewer than a frame's worth: shipped by the timer
        assert wait_for_rows(1, timeout=20) == 1
    finally:
        writer.stop()


def test_the_writer_process_runs_at_a_lower_priority_than_the_server(monkeypatch):
    """It must only take what the calls in flight leave idle: KNOXCALL_RECORDER_NICE above the server."""
    monkeypatch.setenv("KNOXCALL_RECORDER_NICE", "7")
    writer = ChildWriter()
    writer.start()
    try:
        writer.record(a_record())
        assert wait_for_rows(1, timeout=20) == 1  # written, so the child is past its start-up
        own = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, writer._child.pid) == min(own + 7, 19)
    finally:
        writer.stop()


def test_a_writer_process_that_dies_is_replaced(caplog):
    writer = ChildWriter()
    writer.start()
    try:
        first = writer._child
        for _ in range(10):
            writer.record(a_record())
        assert wait_for_rows(10) == 10
        first.kill()
        first.wait(10)
        with caplog.at_level(logging.ERROR, logger="analytics.writer_process"):
            time.sleep(1.1)  # a replacement is started at most once a second
            for _ in range(300):
                writer.record(a_record())  # the first full frame meets the broken pipe
            writer.ship()
    finally:
        writer.stop()
    assert writer._child is None and first.returncode is not None
    assert "request log writer process exited" in caplog.text
    assert RequestLog.objects.count() == 310


def test_a_stalled_writer_never_blocks_and_only_the_oldest_waiting_records_are_dropped(settings):
    settings.PROXY_RECORDER_MAX_QUEUE = 3_000
    writer = ChildWriter()
    writer.start()
    child = writer._child
    total = 40_000  # far more than the pipe (1 MiB, about 10,000 records) and the limit hold
    try:
        os.kill(child.pid, signal.SIGSTOP)
        started = time.monotonic()
        for i in range(total):
            writer.record(a_record(path=f"/p/{i}"))
        elapsed = time.monotonic() - started
        assert writer.dropped > 0
        assert sum(records for records, _ in writer._frames) <= 3_000 + 256
    finally:
        os.kill(child.pid, signal.SIGCONT)
        writer.stop()
    assert elapsed < 20  # never waited on the child: tens of thousands of appends and a few pickles
    assert RequestLog.objects.count() == total - writer.dropped == writer.shipped
    newest = RequestLog.objects.filter(path=f"/p/{total - 1}")
    assert newest.exists(), "the newest records are kept; the oldest waiting ones are dropped"


def test_a_frame_cut_short_by_a_dying_proxy_loses_only_itself():
    writer = ChildWriter()
    writer.start()
    child = writer._child
    for _ in range(10):
        writer.record(a_record())
    writer.ship()  # one whole frame in the pipe
    fd = child.stdin.fileno()
    os.set_blocking(fd, True)
    os.write(fd, FRAME_HEAD.pack(1_000) + b"\x80\x05half a frame")  # then the proxy dies mid-frame
    child.stdin.close()
    assert child.wait(30) == 0
    assert RequestLog.objects.count() == 10
    writer._child = None  # nothing left to stop
    writer.stop()


def test_a_writer_process_that_cannot_be_started_again_never_fails_a_call(monkeypatch, caplog):
    writer = ChildWriter()
    writer.start()
    first = writer._child
    first.kill()
    first.wait(10)

    def no_process(*args, **kwargs):
        raise OSError(11, "Resource temporarily unavailable")

    try:
        errors = caplog.at_level(logging.ERROR, logger="analytics.writer_process")
        with monkeypatch.context() as patched, errors:
            patched.setattr("analytics.writer_process.subprocess.Popen", no_process)
            time.sleep(1.1)  # a replacement is tried at most once a second
            for _ in range(300):
                writer.record(a_record())  # the full frame meets the broken pipe; no process can start
            deadline = time.monotonic() + 10  # the ship that meets it may be the timer's, on its thread
            while "shipping failed" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)
        assert "shipping failed" in caplog.text and writer._child is first
        time.sleep(1.1)
        writer.ship()  # processes can be started again: a new child takes the frames kept meanwhile
        deadline = time.monotonic() + 10  # unless the timer's ship, holding the turn, starts it
        while writer._child is first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writer._child is not first
    finally:
        writer.stop()
    assert RequestLog.objects.count() == 300
