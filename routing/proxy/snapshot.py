"""The process's current route table, kept fresh by one background thread.

The thread polls the single ConfigVersion row (and, when Redis is configured, wakes at once on a pub/sub
message); when the number changes it applies the new versions to a copy of the table (routing.table:
only what they changed is read again) and swaps one reference. Proxied calls only read that reference: no
database, no thread hop, no lock on the hot path.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import connection

from core.selectors import config_version
from knoxcall.lib.config_signal import CHANNEL
from routing.table import RouteTable, Unresolvable, build_route_table, log_problems, route_table_update

log = logging.getLogger(__name__)

_table: RouteTable | None = None
_lock = threading.Lock()
_wake = threading.Event()
_stop = threading.Event()
_threads: list[threading.Thread] = []
_report: tuple[tuple, tuple[Unresolvable, ...]] | None = None  # ((version, row's date), what it cannot serve)
_report_lock = threading.Lock()


def current() -> RouteTable | None:
    return _table


def refresh(force: bool = False) -> RouteTable:
    """Bring the table to the current configuration version (a whole rebuild when forced). Runs off the
    event loop."""
    global _table
    with _lock:
        previous, began = _table, time.perf_counter()
        _table = build_route_table() if force else route_table_update(previous)
        if _table is not previous:
            elapsed = (time.perf_counter() - began) * 1000
            log.info("route table version %s loaded in %.1f ms (%s)", _table.version, elapsed, _table.origin)
            log_problems(_table, previous)
        return _table


def unresolvable() -> tuple[Unresolvable, ...]:
    """The (route, environment) pairs the current configuration cannot serve, for /readyz and the console.

    This process's table answers when it holds the current version. Otherwise (no proxied call yet under
    daphne, or the watcher is a poll behind) a table is brought up to date just for the question (from
    this process's table when there is one) and kept per version; it is not installed, because the proxy's
    start-up (watcher, recorder) runs when no table is loaded yet.
    """
    global _report
    # The row's creation date tells a recreated row (a restored or reset database) from the one counted.
    version = config_version()
    table = _table
    if table is not None and (table.version, table.counted_since) == version:
        return table.unresolvable
    with _report_lock:
        if _report is None or _report[0] != version:
            _report = (version, route_table_update(table).unresolvable)
        return _report[1]


def _poll_loop() -> None:
    while not _stop.is_set():
        _wake.wait(settings.PROXY_CONFIG_POLL_SECONDS)
        _wake.clear()
        try:
            refresh()
        except Exception as exc:  # a database hiccup must not kill the watcher; keep serving the last table
            log.warning(
                "could not refresh the route table (%s); serving version %s",
                exc,
                getattr(_table, "version", None),
            )
            connection.close()
    connection.close()


def _redis_listen_loop() -> None:
    import redis

    while not _stop.is_set():
        try:
            pubsub = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).pubsub()
            pubsub.subscribe(CHANNEL)
            while not _stop.is_set():
                if pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0):
                    _wake.set()
        except redis.RedisError as exc:
            log.warning("configuration pub/sub unavailable (%s); polling continues", exc)
            _stop.wait(2.0)


def stop() -> None:
    """Stop the watcher threads (ASGI lifespan shutdown); the last table stays readable."""
    _stop.set()
    _wake.set()
    for thread in _threads:
        thread.join(5)
    _threads.clear()
    _stop.clear()


def start() -> RouteTable:
    """Load the table now and start the watcher threads once per process."""
    table = refresh()
    with _lock:
        if not _threads:
            targets = [_poll_loop] + ([_redis_listen_loop] if settings.REDIS_URL else [])
            for target in targets:
                thread = threading.Thread(target=target, name=f"knoxcall-{target.__name__}", daemon=True)
                thread.start()
                _threads.append(thread)
    return table
