"""Real notification receivers on 127.0.0.1 that record what they get: a Slack-like incoming webhook and a
PagerDuty-like Events API v2 endpoint (the same server, different replies), scriptable to answer, say,
429 then 200, or 400.
"""

import asyncio
import json
import threading
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class NotificationReceiver:
    """Records every POST; answers from `script` (status, headers) in order, then `default_status`."""

    kind: str = "slack"  # "pagerduty" answers like Events v2 (202 with a dedup_key)
    host: str = "127.0.0.1"
    port: int = 0
    received: list[Delivery] = field(default_factory=list)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    default_status: int = 200

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def answered_ok(self) -> list[Delivery]:
        return [d for d, status in zip(self.received, self._statuses, strict=True) if status < 300]

    def reset(self, *script: tuple[int, dict[str, str]], default_status: int = 200) -> None:
        self.received.clear()
        self._statuses.clear()
        self.script = list(script)
        self.default_status = default_status

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append(Delivery(request.path, dict(request.headers), body))
        status, headers = self.script.pop(0) if self.script else (self.default_status, {})
        self._statuses.append(status)
        if self.kind == "pagerduty" and status < 300:
            dedup_key = json.loads(body).get("dedup_key")
            payload = {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
            return web.json_response(payload, status=202, headers=headers)
        return web.Response(text="ok" if status < 300 else "no", status=status, headers=headers)

    def start(self) -> "NotificationReceiver":
        self._statuses: list[int] = []
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            app = web.Application()
            app.router.add_route("POST", "/{tail:.*}", self.handle)
            runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, 0)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()

        threading.Thread(target=serve, name=f"test-{self.kind}-receiver", daemon=True).start()
        ready.wait(5)
        return self
