"""Announce configuration changes to proxy processes.

Polling the version row is the baseline (every process sees a change within the poll interval); when Redis
is configured a publish on this channel wakes every watcher at once.
"""

import logging

from django.conf import settings

CHANNEL = "knoxcall:config-version"
log = logging.getLogger(__name__)


def publish_config_change(version: int) -> None:
    if not settings.REDIS_URL:
        return
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        client.publish(CHANNEL, str(version))
        client.close()
    except redis.RedisError as exc:  # Pollers still pick the change up; never fail a committed write.
        log.warning("could not publish configuration version %s: %s", version, exc)
