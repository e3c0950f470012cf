"""The gateway's own errors: JSON with a code, a status and the request id (DESIGN.md's table)."""

import json

STATUS = {
    "bad_request": 400,
    "invalid_api_key": 401,
    "ip_not_authorized": 403,
    "route_not_found": 404,
    "route_header_missing": 404,
    "environment_not_found": 404,
    "method_not_allowed": 405,
    "environment_expired": 410,  # a temporary environment past its expiry, archived or about to be
    "payload_too_large": 413,
    "rate_limited": 429,
    "header_fields_too_large": 431,
    "secret_missing": 500,
    "secret_expired": 500,
    "secret_unavailable": 500,
    "internal_error": 500,
    "upstream_unavailable": 502,
    "upstream_forbidden": 502,
    "route_disabled": 503,
    "route_unavailable": 503,  # the route's configuration in that environment cannot be resolved
    "region_unavailable": 503,  # a residency-locked route whose region's member is down
    "upstream_timeout": 504,
    "loop_detected": 508,
}


class GatewayError(Exception):
    """Raised anywhere on the proxy path before the response starts; answered as JSON."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        headers: list[tuple[bytes, bytes]] | None = None,
        extra: dict | None = None,
        close: bool = False,
    ):
        super().__init__(message)
        self.code = code
        self.status = STATUS[code]
        self.message = message
        self.headers = headers or []
        self.extra = extra or {}
        self.close = close  # framing errors: the connection cannot be trusted for another request

    def body(self, request_id: str) -> bytes:
        payload = {"error": self.message, "code": self.code, "status": self.status, "request_id": request_id}
        payload.update(self.extra)
        return json.dumps(payload).encode()
