"""When each API key was last used: noted in memory per call, written in one batch every few seconds.

`note_key_used` is a dict assignment on the hot path; a daemon thread hands the batch to
environments.services.api_keys_touch every API_KEY_USAGE_FLUSH_SECONDS, and once more at exit.
"""

import threading
import time
from datetime import UTC, datetime

from django.conf import settings

from environments.services import api_keys_touch
from knoxcall.lib.flusher import PeriodicFlusher

_pending: dict[str, float] = {}
_lock = threading.Lock()


def note_key_used(key_id: str) -> None:
    _pending[key_id] = time.time()


def flush() -> int:
    """Write the pending times; returns how many keys were updated."""
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


_writer = PeriodicFlusher("knoxcall-key-usage", flush, lambda: settings.API_KEY_USAGE_FLUSH_SECONDS)
start = _writer.start
stop = _writer.stop
