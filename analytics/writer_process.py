"""The request log written by a process of its own, so the proxy's event loop never waits for its writer.

A writer thread shares the GIL with the event loop: while it turned records into rows and SQLite bound
their values, calls waited (the gateway with every check on SQLite against the same with recording
switched off, two runs on a 2-core machine: 3-10% of its throughput, and its p99 at 1 connection 5.4 ms
against 2.9-3.6 ms). Here the
proxy's side (`ChildWriter`, installed by AnalyticsConfig when PROXY_RECORDER_PROCESS is on) only reads each
record's values into a tuple; every SHIP_ROWS records, or SHIP_SECONDS after the first, they are pickled in
one call and written to a pipe without blocking. The child (`main`, `python -m analytics.writer_process`)
reads them and writes them with the recorder's own batching and error handling (analytics.recorder).

What is lost, and when: nothing on a clean shutdown (the rest is shipped, the pipe closed, the child
drains and exits, and both sides log their counts). While the child cannot keep up, the pipe fills and
frames wait here up to PROXY_RECORDER_MAX_QUEUE records; past that the oldest wait no longer and are
counted as dropped. A child that dies is started again; the records it had read but not written are lost
with it, and the error is logged.
"""

import atexit
import contextlib
import fcntl
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import fields
from operator import attrgetter

from django.conf import settings
from django.db import connection

from routing.proxy.records import RequestRecord

log = logging.getLogger(__name__)

SHIP_ROWS = 256  # pickling 256 records is one short call on the event loop; fewer calls cost more
SHIP_SECONDS = 0.1  # the longest a record waits here at a low rate
PIPE_BYTES = 1 << 20  # Linux's default largest pipe (/proc/sys/fs/pipe-max-size): about 10,000 records
DATABASE_ENV = "KNOXCALL_RECORDER_DATABASE_NAME"  # the database the parent uses, under test names too
FRAME_HEAD = struct.Struct("!I")  # each frame: its length, then one pickled list of value tuples
CHILD_WAITING_LIMIT = 4  # batches the child lets wait before it stops reading (the pipe then fills)

_values = attrgetter(*(f.name for f in fields(RequestRecord)))


def supported() -> bool:
    """A child can share the database only when it is not in this process's memory."""
    name = str(connection.settings_dict["NAME"])
    return connection.vendor != "sqlite" or not (name == ":memory:" or "mode=memory" in name)


class ChildWriter:
    """The proxy's side: records in, pickled frames out to the child's stdin, never blocking."""

    def __init__(self) -> None:
        self._rows: deque[tuple] = deque()  # values not yet pickled
        self._frames: deque[tuple[int, bytes]] = deque()  # (records, frame) not yet wholly in the pipe
        self._sent_of_first = 0  # bytes of the first frame already in the pipe
        self._lock = threading.Lock()  # one shipper at a time: the event loop or the timer
        self._stopping = threading.Event()
        self._child: subprocess.Popen | None = None
        self._timer: threading.Thread | None = None
        self._last_spawn = 0.0
        self.shipped = 0  # records wholly written to the pipe
        self.dropped = 0  # records dropped because the child was behind for too long

    def record(self, entry: RequestRecord) -> None:
        rows = self._rows
        rows.append(_values(entry))
        if len(rows) >= SHIP_ROWS:
            self.ship()

    def start(self) -> None:
        with self._lock:
            if self._child is None:
                self._stopping.clear()
                self._spawn()
                self._timer = threading.Thread(target=self._ship_on_time, name="knoxcall-ship", daemon=True)
                self._timer.start()
                atexit.register(self.stop)  # daphne has no lifespan shutdown; a second stop does nothing

    def stop(self, timeout: float = 30) -> None:
        """Ship the rest, close the pipe and wait for the child to write it all (ASGI lifespan shutdown)."""
        self._stopping.set()
        atexit.unregister(self.stop)
        if self._timer is not None:
            self._timer.join(timeout)
        with self._lock:
            child, self._child = self._child, None
            if child is None:
                return
            self._pickle_pending()
            deadline = time.monotonic() + timeout
            while self._frames and time.monotonic() < deadline and child.poll() is None:
                if not self._write_frames(child):
                    time.sleep(0.005)
            child.stdin.close()
        try:
            child.wait(max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            child.kill()
            log.error("request log writer did not finish in %.0f s and was killed", timeout)
        waiting = sum(records for records, _ in self._frames) + len(self._rows)
        level = logging.WARNING if self.dropped or waiting else logging.INFO
        log.log(
            level,
            "request log shipper: %d shipped to the writer process, %d dropped (writer behind), %d unsent",
            self.shipped,
            self.dropped,
            waiting,
        )

    def ship(self) -> None:
        """Pickle what waits and write what the pipe takes now; the rest waits for the next call. Never
        waits itself: it runs on the event loop."""
        if not self._lock.acquire(blocking=False):
            return  # the timer or `stop` is shipping: these records go with the next ship
        try:
            if self._child is not None:  # once stopped, a writer is not restarted by calls
                self._pickle_pending()
                self._write_frames(self._child)
        except Exception:  # the request log must never fail a call, nor end the timer's shipping
            log.exception("request log shipper: shipping failed; the next ship tries again")
        finally:
            self._lock.release()

    def _pickle_pending(self) -> None:
        rows = self._rows
        batch = [rows.popleft() for _ in range(len(rows))]
        if batch:
            payload = pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)
            self._frames.append((len(batch), FRAME_HEAD.pack(len(payload)) + payload))
            self._drop_oldest_past_limit()

    def _drop_oldest_past_limit(self) -> None:
        waiting = sum(records for records, _ in self._frames)
        # The first frame may be partly in the pipe: dropping it would cut a frame in two.
        while waiting > settings.PROXY_RECORDER_MAX_QUEUE and len(self._frames) > 1:
            records, _ = self._frames[1]
            del self._frames[1]
            waiting -= records
            self.dropped += records

    def _write_frames(self, child: subprocess.Popen) -> bool:
        """Write whole frames while the pipe takes them; False when it is full. A child that is gone is
        started again and given the frame it had not wholly read."""
        fd = child.stdin.fileno()
        while self._frames:
            records, frame = self._frames[0]
            try:
                self._sent_of_first += os.write(fd, memoryview(frame)[self._sent_of_first :])
            except BlockingIOError:
                return False
            except (BrokenPipeError, OSError):
                self._restart(child)
                return False
            if self._sent_of_first == len(frame):
                self._frames.popleft()
                self._sent_of_first = 0
                self.shipped += records
        return True

    def _restart(self, child: subprocess.Popen) -> None:
        """Start another child (at most once a second: one that dies at once is not spawned in a loop)."""
        self._sent_of_first = 0  # the new child is sent the first frame whole
        if self._stopping.is_set() or time.monotonic() - self._last_spawn < 1:
            return  # stopping: what is left is counted as unsent; else the next ship tries again
        log.error(
            "request log writer process exited (code %s); the records it had not written are lost; "
            "starting another",
            child.poll(),
        )
        self._spawn()  # raises when no process can be started: `ship` logs it, a second later it retries
        with contextlib.suppress(OSError):
            child.stdin.close()

    def _spawn(self) -> None:
        self._last_spawn = time.monotonic()
        env = {**os.environ, DATABASE_ENV: str(connection.settings_dict["NAME"])}
        env.setdefault("DJANGO_SETTINGS_MODULE", "knoxcall.settings")
        child = subprocess.Popen(
            [sys.executable, "-m", "analytics.writer_process"], stdin=subprocess.PIPE, env=env
        )
        fd = child.stdin.fileno()
        with contextlib.suppress(OSError):  # a smaller pipe only means frames wait here sooner
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        os.set_blocking(fd, False)
        self._child = child

    def _ship_on_time(self) -> None:
        while not self._stopping.wait(SHIP_SECONDS):
            if self._rows or self._frames:
                self.ship()


def main() -> None:
    """The child: frames from stdin into the recorder, until the parent closes the pipe."""
    import django

    # Ctrl-C and a server's SIGTERM reach the whole process group: the child ends when the pipe closes,
    # after the parent has shipped its last records, never before.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if name := os.environ.get(DATABASE_ENV):
        settings.DATABASES["default"]["NAME"] = name
    settings.PROXY_RECORDER_PROCESS = False
    django.setup()
    try:
        os.nice(settings.PROXY_RECORDER_NICE)
    except OSError as exc:  # a negative value needs privileges: write at the server's priority, not never
        log.warning(
            "request log writer keeps the server's priority: os.nice(%s): %s",
            settings.PROXY_RECORDER_NICE,
            exc,
        )
    from analytics import recorder

    recorder.start()
    stdin = sys.stdin.buffer
    try:
        while len(head := stdin.read(FRAME_HEAD.size)) == FRAME_HEAD.size:
            size = FRAME_HEAD.unpack(head)[0]
            if len(payload := stdin.read(size)) < size:
                break  # the parent died half-way through a frame: write what came whole
            for values in pickle.loads(payload):
                recorder.record(RequestRecord(*values))
            while recorder.waiting() > settings.PROXY_RECORDER_BATCH_SIZE * CHILD_WAITING_LIMIT:
                recorder.wake()
                time.sleep(0.01)  # the pipe fills meanwhile, and the parent holds what does not fit
    finally:
        recorder.stop()


if __name__ == "__main__":
    main()
