"""Every error of the management API as `{"error": {"type", "message", "request_id"}, "status": N}`.

The `error` object is the shape KnoxCall's SDKs parse (type = machine code, message = for people); `fields`
carries per-field messages of a validation error.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger("knoxcall.api")


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than this API accepts ({limit} bytes).")


class Replay(Exception):  # noqa: N818 - not an error: the stored answer of an idempotent retry
    def __init__(self, status_code: int, data: Any) -> None:
        self.status_code, self.data = status_code, data


TYPES = {
    400: "invalid_request",
    500: "server_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}
# Validation codes a client acts on: answered as the error's type instead of the generic invalid_request.
SPECIFIC_VALIDATION_CODES = frozenset({"secret_missing"})


def _django_validation_fields(exc: DjangoValidationError) -> tuple[str, dict]:
    if hasattr(exc, "error_dict"):
        fields = {
            name: [str(m) for e in errors for m in e.messages] for name, errors in exc.error_dict.items()
        }
        fields.pop("__all__", None)
        message = "; ".join(
            f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v) for k, v in exc.message_dict.items()
        )
        return message, fields
    return " ".join(exc.messages), {}


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [f"{key}: {m}" for key, value in detail.items() for m in _flatten(value)]
    if isinstance(detail, list):
        return [m for item in detail for m in _flatten(item)]
    return [str(detail)]


def error_body(
    request, status_code: int, message: str, fields: dict | None = None, error_type: str = ""
) -> dict:
    body = {
        "error": {
            "type": error_type or TYPES.get(status_code, "error"),
            "message": message,
            "request_id": getattr(request, "request_id", ""),
        },
        "status": status_code,
    }
    if fields:
        body["fields"] = fields
    return body


def _translate(exc: Exception) -> tuple[int, str, dict] | None:
    if getattr(exc, "api_code", None) and getattr(exc, "api_status", None):
        # A service's refusal that names its own answer (core.permissions.ApprovalRequired,
        # deployments.errors): its status, and its code as the error type (exception_handler).
        return exc.api_status, str(exc) or exc.api_code, {}
    if isinstance(exc, DjangoValidationError):
        message, fields = _django_validation_fields(exc)
        return 400, message, fields
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {}
        return 400, "; ".join(_flatten(exc.detail)) or "Invalid request.", fields
    if isinstance(exc, DjangoPermissionDenied):
        return 403, str(exc) or "You may not do this.", {}
    if isinstance(exc, Http404):
        return 404, str(exc) or "Not found.", {}
    if isinstance(exc, IntegrityError):
        return 409, "That conflicts with an existing object (a name or slug already in use?).", {}
    if isinstance(exc, exceptions.APIException):
        return exc.status_code, "; ".join(_flatten(exc.detail)), {}
    return None


def exception_handler(exc: Exception, context: dict) -> Response | None:
    request = context.get("request")
    if isinstance(exc, Replay):
        return Response(exc.data, status=exc.status_code, headers={"Idempotent-Replayed": "true"})
    translated = _translate(exc)
    if translated is None:
        # A bug or an outage: logged with its traceback, answered in the same JSON shape as every error.
        logger.error("Unhandled error in %s", getattr(request, "path", "?"), exc_info=exc)
        return Response(error_body(request, 500, "Internal error; see the server log."), status=500)
    status_code, message, fields = translated
    headers = {}
    if isinstance(exc, exceptions.Throttled):
        headers["Retry-After"] = str(int(exc.wait or 60))
    if status_code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="knoxcall"'
    fields = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in fields.items()}
    error_type = getattr(exc, "api_code", "") or ""
    if isinstance(exc, DjangoValidationError) and getattr(exc, "code", None) in SPECIFIC_VALIDATION_CODES:
        error_type = exc.code
    body = error_body(request, status_code, message, fields, error_type)
    return Response(body, status=status_code, headers=headers)
