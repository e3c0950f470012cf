"""A call that reached Django without `x-knoxcall-route` and matched no URL: tell an API client why.

Browsers (an Accept header naming text/html) keep the console's 404 page. Any other client was most likely
calling a route and forgot the header, so it gets the gateway's JSON error saying which header to send; an
unknown /v1 path gets the management API's own error envelope. This runs on the 404 response rather than as
a handler404, because with DEBUG on Django answers with its technical 404 page and never calls handler404.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.http.api_errors import error_body

from .proxy.consumer import new_request_id
from .proxy.errors import GatewayError
from .proxy.headers import request_id_from

ROUTE_HEADER_HINT = (
    "No route chosen: send the header 'x-knoxcall-route: <route slug or id>' (and optionally "
    "'x-knoxcall-environment: <name>') to call a route through this gateway."
)


def unmatched_path_answer(request: HttpRequest, response: HttpResponse) -> HttpResponse | None:
    """The JSON answer replacing a 404 of URL resolution (no view ran), or None to keep Django's."""
    if response.status_code != 404 or request.resolver_match is not None:
        return None
    path = request.path
    if path == "/v1" or path.startswith("/v1/"):
        return api_not_found(request)
    if path.startswith(settings.STATIC_URL) or "text/html" in request.headers.get("Accept", "").lower():
        return None
    return route_header_missing(request)


def api_not_found(request: HttpRequest) -> HttpResponse:
    request.request_id = new_request_id()  # what error_body reports, as the API's views do
    response = JsonResponse(error_body(request, 404, f"No API endpoint at {request.path}."), status=404)
    response["X-Request-Id"] = request.request_id
    return response


def route_header_missing(request: HttpRequest) -> HttpResponse:
    caller_id = request.headers.get("X-Request-Id", "").encode("latin-1", "replace") or None
    request_id = request_id_from(caller_id, new_request_id)
    error = GatewayError("route_header_missing", ROUTE_HEADER_HINT, extra={"header": "x-knoxcall-route"})
    response = HttpResponse(error.body(request_id), status=error.status, content_type="application/json")
    response["X-Request-Id"] = request_id
    response["Vary"] = "Accept"
    return response


class UnmatchedPathMiddleware:
    """Replaces Django's 404 of an unknown path for API clients (see the module docstring)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if iscoroutinefunction(self):
            return self._acall(request)
        return self._answer(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return self._answer(request, await self.get_response(request))

    def _answer(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        return unmatched_path_answer(request, response) or response
