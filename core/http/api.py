"""The base of every /v1 view: request id, envelope, actor, pagination and idempotent writes.

Each app's `api.py` subclasses `ApiView`; views stay thin: look up → one service or selector → `self.ok(...)`.
Every write serializer subclasses `WriteSerializer`, so a field the API does not know is refused everywhere.
"""

import hashlib
import hmac
import math
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.audit import Actor
from core.filters import FilterSet
from core.models import IdempotencyRecord
from knoxcall.lib.throttle import client_ip_of_request

from .api_errors import Conflict, PayloadTooLarge, Replay

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
IDEMPOTENCY_TTL = timedelta(hours=24)
DEFAULT_PER_PAGE, MAX_PER_PAGE = 20, 100
API_VERSION = "1"
PENDING = 0  # IdempotencyRecord.status while the first request with the key runs


def _positive_int(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise exceptions.ValidationError({name: [f"{name} must be a whole number."]}) from None
    if value < 1:
        raise exceptions.ValidationError({name: [f"{name} must be at least 1."]})
    return min(value, maximum)


class WriteSerializer(serializers.Serializer):
    """The base of every /v1 write serializer: an unknown field is refused with 400 naming it.

    Silently dropping one hides mistakes that matter (an `expires_at` a server ignored left keys that never
    expired), so the whole API answers the same way, nested serializers included.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            known = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(name) for name in set(data) - known)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def _read_body(request: Request) -> bytes:
    """The raw body of a write; 413 past DATA_UPLOAD_MAX_MEMORY_SIZE (KNOXCALL_API_MAX_BODY_BYTES).

    Django checks Content-Length only; a chunked body has none, so its length is checked once read.
    """
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        body = request._request.body
    except RequestDataTooBig:
        raise PayloadTooLarge(limit) from None
    if limit is not None and len(body) > limit:
        raise PayloadTooLarge(limit)
    return body


def filterset_of[F: FilterSet](filterset: type[F], request: Request, **renamed: str) -> F:
    """The filter set cleaned from the query parameters (`field=parameter` where the /v1 name differs);
    400 naming each parameter whose value does not clean."""
    params = request.query_params
    names = {name: renamed.get(name, name) for name in filterset.base_fields}
    result = filterset({name: params[parameter] for name, parameter in names.items() if parameter in params})
    if not result.is_valid():
        errors = {names[name]: list(messages) for name, messages in result.errors.items()}
        raise exceptions.ValidationError(errors)
    return result


def validated(serializer_class, request: Request, partial: bool = False) -> dict[str, Any]:
    """The request body checked by a write serializer (400 naming the fields otherwise), as a plain dict."""
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ApiView(APIView):
    # Fields of a write's answer that are shown once (a created API key): never kept for idempotent
    # replays, which answer with them set to null and `replay_message` instead.
    shown_once_fields: tuple[str, ...] = ()
    replay_message = ""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        request.request_id = uuid.uuid4().hex
        body = _read_body(request) if request.method in WRITE_METHODS else b""  # read before parsing
        super().initial(request, *args, **kwargs)
        self._check_query_parameters(request)
        self._check_idempotency(request, body)

    def _check_query_parameters(self, request: Request) -> None:
        """List endpoints answer 400 naming a query parameter they do not document, instead of ignoring it."""
        handler = getattr(self, request.method.lower(), None)
        known = getattr(handler, "query_parameters", None)
        unknown = sorted(set(request.query_params) - known) if known is not None else []
        if unknown:
            takes = ", ".join(sorted(known)) or "none"
            message = f"Unknown query parameter; this endpoint takes: {takes}."
            raise exceptions.ValidationError({name: [message] for name in unknown})

    @property
    def actor(self) -> Actor:
        ip = client_ip_of_request(self.request._request) or None
        if self.request.auth is not None:
            return Actor.for_api_key(self.request.auth, ip)
        return Actor.for_user(self.request.user, ip)

    # --- answers ------------------------------------------------------------------------------------------
    def ok(self, data: Any, status: int = 200, **meta: Any) -> Response:
        return Response(
            {"data": data, "meta": {"request_id": self.request.request_id, **meta}}, status=status
        )

    def page(self, queryset: QuerySet | list, serialize) -> Response:
        """page/per_page pagination (default 20, at most 100) with total and total_pages in meta."""
        page = _positive_int(self.request, "page", 1, 10**9)
        per_page = _positive_int(self.request, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
        total = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
        start = (page - 1) * per_page
        rows = [serialize(row) for row in queryset[start : start + per_page]] if start < total else []
        return self.ok(
            rows,
            total=total,
            page=page,
            per_page=per_page,
            total_pages=math.ceil(total / per_page) if total else 0,
        )

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if getattr(request, "request_id", None):
            response["X-Request-Id"] = request.request_id
        # KnoxCall's SDKs send their API version; this server has one /v1 shape and says which it answered.
        response["KnoxCall-Version"] = request.headers.get("KnoxCall-Version", API_VERSION)[:64]
        claimed = getattr(request, "idempotency", None)
        if claimed is not None and response.status_code < 500:
            claimed.status, claimed.response = response.status_code, self.replay_body(response.data)
            claimed.save(update_fields=["status", "response"])
            request.idempotency = None
        return response

    def dispatch(self, request, *args: Any, **kwargs: Any):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            claimed = getattr(self.request, "idempotency", None)
            if claimed is not None:  # a 5xx or an unhandled error: the key may be retried
                claimed.delete()

    # --- X-Idempotency-Key --------------------------------------------------------------------------------
    def replay_body(self, data: Any) -> Any:
        """The answer kept for replays: without the fields that are shown once (they are never stored)."""
        inner = data.get("data") if isinstance(data, dict) else None
        if not self.shown_once_fields or not isinstance(inner, dict):
            return data
        redacted = {**inner, **dict.fromkeys(self.shown_once_fields)}
        if self.replay_message:
            redacted["message"] = self.replay_message
        return {**data, "data": redacted}

    def _check_idempotency(self, request: Request, body: bytes) -> None:
        """Claim the key with a pending record, or answer from the record already there.

        The claim is a row insert under a unique constraint, so of two concurrent retries only one runs; the
        other gets 409 until the first has stored its answer.
        """
        key = request.headers.get("X-Idempotency-Key", "").strip()
        if request.method not in WRITE_METHODS or not key:
            return
        if len(key) > 255:
            raise exceptions.ValidationError({"X-Idempotency-Key": ["At most 255 characters."]})
        credential = str(request.auth.pk) if request.auth is not None else f"user:{request.user.pk}"
        parts = [request.method.encode(), request.path.encode(), body]
        # Keyed, so a leaked table cannot be used to guess a low-entropy secret value sent in a body.
        digest = hmac.new(settings.SECRET_KEY.encode(), b"\n".join(parts), hashlib.sha256).hexdigest()
        now = timezone.now()
        IdempotencyRecord.objects.filter(expires_at__lte=now).delete()
        try:
            with transaction.atomic():
                request.idempotency = IdempotencyRecord.objects.create(
                    credential=credential,
                    key=key,
                    request_hash=digest,
                    status=PENDING,
                    expires_at=now + IDEMPOTENCY_TTL,
                )
            return
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(credential=credential, key=key).first()
        if record is None or record.request_hash != digest:
            raise Conflict("This X-Idempotency-Key was used with a different request; use a new key.")
        if record.status == PENDING:
            raise Conflict("A request with this X-Idempotency-Key is still being processed; retry shortly.")
        raise Replay(record.status, record.response)
