"""The ASGI application: proxy traffic, websockets and Django behind one entry point.

Any HTTP request carrying `x-knoxcall-route` goes to the streaming proxy, whatever its path; websockets go
to Channels' router; everything else is the Django console, API and admin. Django is set up (by
get_asgi_application) before any consumer is imported, as Channels requires.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "knoxcall.settings")
django_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path, re_path  # noqa: E402

from analytics.consumers import AnalyticsConsumer  # noqa: E402
from knoxcall.lib.http_date import http_date  # noqa: E402
from knoxcall.lib.websocket import websocket_not_found  # noqa: E402
from routing.proxy import framing, lifecycle  # noqa: E402
from routing.proxy.consumer import proxy  # noqa: E402

ROUTE_HEADER = b"x-knoxcall-route"
websocket_urlpatterns: list = [
    path("ws/analytics/", AllowedHostsOriginValidator(AuthMiddlewareStack(AnalyticsConsumer.as_asgi()))),
]


def dated(send):
    """The console's and the API's answers with a Date (uvicorn runs with --no-date-header)."""

    async def send_dated(message):
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), (b"date", http_date())]}
        await send(message)

    return send_dated


def build_application(websocket_routes: list | None = None):
    # The proxy coroutine itself, not a Channels consumer instance per call: it needs none of the
    # consumer machinery (channel layer, dispatch), and the extra object and frames cost on every call.
    proxy_app = framing.guard(proxy)
    routes = websocket_routes if websocket_routes is not None else websocket_urlpatterns
    # Last: any other path is refused cleanly instead of URLRouter's ValueError (a 500 and a traceback).
    websocket_app = URLRouter([*routes, re_path(r"", websocket_not_found)])

    async def application(scope, receive, send):
        kind = scope["type"]
        if kind == "http":
            for name, _ in scope["headers"]:
                if name == ROUTE_HEADER:
                    return await proxy_app(scope, receive, send)
            return await django_app(scope, receive, dated(send))
        if kind == "websocket":
            return await websocket_app(scope, receive, send)
        if kind == "lifespan":
            return await lifecycle.lifespan(scope, receive, send)
        raise ValueError(f"Unsupported ASGI scope type {kind!r}")

    return application


application = build_application()
