from datetime import UTC, datetime

from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from analytics.consumers import AnalyticsConsumer
from analytics.models import RequestLog, RollupState
from analytics.rollup import rollup
from tests.analytics.concurrency import make_logs


def _communicator(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(AnalyticsConsumer.as_asgi(), "/ws/analytics/")
    communicator.scope["user"] = user
    return communicator


def test_it_refuses_an_anonymous_websocket(transactional_db):
    async def scenario():
        communicator = _communicator(AnonymousUser())
        connected, code = await communicator.connect()
        return connected, code

    assert async_to_sync(scenario)() == (False, 4401)


def test_it_tells_a_live_page_when_a_rollup_committed(transactional_db, settings):
    settings.ANALYTICS_LIVE_POLL_SECONDS = 0.2
    user = get_user_model().objects.create_user("viewer", password="pw-for-tests-only")
    RequestLog.objects.bulk_create(make_logs(5, start=datetime(2026, 1, 1, tzinfo=UTC)))

    async def scenario():
        communicator = _communicator(user)
        connected, _ = await communicator.connect()
        await sync_to_async(rollup)()
        message = await communicator.receive_json_from(timeout=10)
        await communicator.disconnect()
        return connected, message

    connected, message = async_to_sync(scenario)()
    assert connected and message["type"] == "rollup" and message["version"] >= 1


def test_it_notices_a_rollup_of_another_process_by_polling_the_marker(transactional_db, settings):
    # Another process's broadcast never reaches the in-memory layer: only the marker row changes here.
    settings.ANALYTICS_LIVE_POLL_SECONDS = 0.2
    user = get_user_model().objects.create_user("viewer", password="pw-for-tests-only")

    async def scenario():
        communicator = _communicator(user)
        await communicator.connect()
        await sync_to_async(RollupState.objects.update_or_create)(id=1, defaults={"version": 41})
        message = await communicator.receive_json_from(timeout=10)
        await communicator.disconnect()
        return message

    assert async_to_sync(scenario)() == {"type": "rollup", "version": 41}
