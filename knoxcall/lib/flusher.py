"""A background writer: a daemon thread that flushes something every few seconds, off the request path.

Used by the request-log recorder and the API-key usage batcher. A failing flush is logged and retried on the
next round (its thread's database connection is closed, to be reopened); `stop` ends the thread and flushes
once more, and so does interpreter exit.
"""

import atexit
import logging
import threading
from collections.abc import Callable

from django.db import connection

log = logging.getLogger(__name__)


class PeriodicFlusher:
    def __init__(self, name: str, flush: Callable[[], object], interval: Callable[[], float]) -> None:
        self.name = name
        self._flush = flush
        self._interval = interval  # read each round, so settings overridden in tests apply
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._at_exit_registered = False

    def wake(self) -> None:
        """Flush now rather than at the end of the current interval."""
        self._wake.set()

    def _flush_logged(self) -> None:
        try:
            self._flush()
        except Exception:
            log.exception("%s: flush failed; will retry", self.name)
            connection.close()  # a broken connection is reopened on the next attempt

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._interval())
            self._wake.clear()
            self._flush_logged()
        connection.close()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
                if not self._at_exit_registered:
                    atexit.register(self._flush_logged)
                    self._at_exit_registered = True

    def stop(self) -> None:
        """End the thread (ASGI lifespan shutdown) and flush what is left."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            self._wake.set()
            thread.join(5)
            self._stopping.clear()
        self._flush()
