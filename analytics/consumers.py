"""The websocket that tells the compare and health pages to refresh their figures."""

import asyncio
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from .live import GROUP, rollup_version


class AnalyticsConsumer(AsyncWebsocketConsumer):
    """Sends {"type": "rollup", "version": N} whenever a rollup committed new figures."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.version = await database_sync_to_async(rollup_version)()
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()
        self.poller = asyncio.create_task(self._poll())

    async def disconnect(self, code: int) -> None:
        poller = getattr(self, "poller", None)
        if poller is not None:
            poller.cancel()
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def rollup_done(self, event: dict) -> None:
        await self._announce(event.get("version") or await database_sync_to_async(rollup_version)())

    async def _poll(self) -> None:
        # Covers a channel layer that does not reach this process (the embedded in-memory one).
        while True:
            await asyncio.sleep(settings.ANALYTICS_LIVE_POLL_SECONDS)
            await self._announce(await database_sync_to_async(rollup_version)())

    async def _announce(self, version: int) -> None:
        if version != self.version:
            self.version = version
            await self.send(text_data=json.dumps({"type": "rollup", "version": version}))
