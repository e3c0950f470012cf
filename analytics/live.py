"""Live dashboards: who is told when a rollup committed, and how.

The rollup sends to the `analytics` channel group after commit; with channels_redis (REDIS_URL set) that
reaches every server process at once. The embedded in-memory layer does not cross processes, and `make run`
runs the Celery worker in its own process, so each websocket consumer also polls the RollupState marker
(one primary-key read every ANALYTICS_LIVE_POLL_SECONDS) and tells its page when the version moved.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

GROUP = "analytics"
log = logging.getLogger(__name__)


def broadcast_rollup() -> None:
    """Tell every live page that fresh figures exist; best effort, the marker poll covers a miss."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(GROUP, {"type": "rollup.done", "version": rollup_version()})
    except Exception:
        log.warning("analytics broadcast failed; live pages will catch up by polling", exc_info=True)


def rollup_version() -> int:
    from .models import RollupState

    return RollupState.objects.filter(id=1).values_list("version", flat=True).first() or 0
