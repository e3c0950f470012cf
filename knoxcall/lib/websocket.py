"""The answer to a WebSocket handshake on a path no consumer serves: a clean refusal, never a traceback.

Channels' URLRouter raises ValueError for an unknown path, which the server logs as an application error
and answers with a bare 500. This app is routed last instead and closes before accepting, which every ASGI
server answers with a plain 403. (The ASGI denial-response extension could carry a JSON body, but uvicorn's
default websockets implementation logs an ERROR after every such denial: Kludex/uvicorn#3138.)
"""

import logging

log = logging.getLogger(__name__)

# Application close code (RFC 6455 §7.4.2 leaves 4000-4999 to applications): "not found", like HTTP 404.
CLOSE_NOT_FOUND = 4404


async def websocket_not_found(scope: dict, receive, send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    log.info("websocket refused: no endpoint at %s", scope.get("path", "")[:200])
    await send({"type": "websocket.close", "code": CLOSE_NOT_FOUND})
