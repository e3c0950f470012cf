"""When each API key was last used: noted in memory per call, written in one batch every few seconds.

`note_key_used` is a dict assignment on the hot path; a daemon thread hands the batch to
environments.services.api_keys_touch every API_KEY_USAGE_FLUSH_SECONDS, and once more at exit.
"""

import atexit
import logging
import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)

_pending: dict[str, float] = {}
_lock = threading.Lock()
_thread: threading.Thread | None = None
_stopping = threading.Event()


def note_key_used(key_id: str) -> None:
    _pending[key_id] = time.time()


def flush() -> int:
    """Write the pending times; returns how many keys were updated."""
    from environments.services import api_keys_touch

    with _lock:
        batch = dict(_pending)
        for key_id, when in batch.items():
            if _pending.get(key_id) == when:
                del _pending[key_id]
    if not batch:
        return 0
    used = {key_id: datetime.fromtimestamp(when, UTC) for key_id, when in batch.items()}
    try:
        return api_keys_touch(used)
    except Exception:
        for key_id, when in batch.items():
            _pending.setdefault(key_id, when)  # retry next time unless a newer use is already noted
        raise


def _loop() -> None:
    while not _stopping.wait(settings.API_KEY_USAGE_FLUSH_SECONDS):
        try:
            flush()
        except Exception:
            log.exception("could not record API key usage; will retry")
            connection.close()  # a broken connection is reopened on the next attempt
    connection.close()


def _flush_at_exit() -> None:
    try:
        flush()
    except Exception:
        log.exception("API key usage flush at exit failed")


def stop() -> None:
    """Stop the writer thread and write what is pending (ASGI lifespan shutdown)."""
    global _thread
    if _thread is not None:
        _stopping.set()
        _thread.join(5)
        _thread = None
        _stopping.clear()
    flush()


def start() -> None:
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_loop, name="knoxcall-key-usage", daemon=True)
            _thread.start()
            atexit.register(_flush_at_exit)
