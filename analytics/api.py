"""/v1 endpoints of the analytics app: the request log feed, one request, a route's logs, environment metrics.

`/v1/logs` is a keyset feed in ascending order: `cursor` is opaque (the last row's), delivery is at least
once (dedupe on request_id), and `meta.next_cursor` is null once the feed is drained for now.
"""

import base64
import binascii
import uuid

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from core.http.api import ApiView, _positive_int, filterset_of
from core.http.api_schema import api_doc, filter_parameters
from routing.selectors import route_or_404

from . import selectors
from .filters import RequestLogFilterSet
from .health import DEGRADED, DOWN, HEALTHY, IDLE
from .models import RequestLog

FEED_LIMIT_DEFAULT, FEED_LIMIT_MAX = 100, 1000


def encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"rl:{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind == "rl" and number.isascii() and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise serializers.ValidationError({"cursor": ["Pass back a next_cursor this API gave you, verbatim."]})


class RequestLogSerializer(serializers.Serializer):
    id = serializers.CharField()
    request_id = serializers.CharField()
    cursor = serializers.SerializerMethodField()
    ts = serializers.DateTimeField(source="timestamp")
    route_id = serializers.UUIDField(allow_null=True)
    route_slug = serializers.CharField()
    environment = serializers.CharField()
    method = serializers.CharField()
    path = serializers.CharField()
    query = serializers.CharField()
    status_code = serializers.IntegerField(source="status")
    latency_ms = serializers.FloatField()
    bytes_in = serializers.IntegerField()
    bytes_out = serializers.IntegerField()
    src_ip = serializers.IPAddressField(source="client_ip", allow_null=True)
    upstream_host = serializers.CharField()
    error = serializers.CharField(source="error_code")
    rate_limited = serializers.SerializerMethodField()
    api_key_id = serializers.UUIDField(allow_null=True)
    secrets_used = serializers.ListField(child=serializers.CharField(), help_text="Names only, never values.")

    def get_cursor(self, row: RequestLog) -> str:
        return encode_cursor(row.pk)

    def get_rate_limited(self, row: RequestLog) -> bool:
        return row.error_code == "rate_limited"


def log_data(row: RequestLog) -> dict:
    return RequestLogSerializer(row).data


# /v1/logs filters with the console's Requests page filter set; these are the fields it takes.
FEED_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="Opaque: a next_cursor, passed back verbatim."),
    OpenApiParameter("limit", OpenApiTypes.INT, description="Rows per page: default 100, at most 1000."),
    *filter_parameters(
        RequestLogFilterSet,
        route_id="route",
        status_code="status_code",
        environment="environment",
        method="method",
        since="since",
        until="until",
    ),
]


class LogFeedView(ApiView):
    @api_doc(
        response=RequestLogSerializer,
        cursor=True,
        parameters=FEED_PARAMETERS,
        summary="The request log as a cursor feed (ascending, at least once: dedupe on request_id).",
    )
    def get(self, request):
        limit = _positive_int(request, "limit", FEED_LIMIT_DEFAULT, FEED_LIMIT_MAX)
        filters = filterset_of(RequestLogFilterSet, request, route="route_id")
        logs = filters.logs().order_by("id")
        if filters.values().get("since"):
            logs = selectors.request_logs_from(logs, filters.values()["since"])
        if request.query_params.get("cursor"):
            logs = logs.filter(id__gt=decode_cursor(request.query_params["cursor"]))
        rows = list(logs[:limit])
        next_cursor = encode_cursor(rows[-1].pk) if len(rows) == limit else None
        return self.ok(
            [log_data(r) for r in rows],
            next_cursor=next_cursor,
            limit=limit,
            delivery="at_least_once",
            dedupe_on="request_id",
            watermark_seconds=0,
        )


class LogDetailView(ApiView):
    @api_doc(response=RequestLogSerializer, summary="One proxied request by its request id (X-Request-Id).")
    def get(self, request, request_id: str):
        row = selectors.request_log_get(request_id)
        if row is None:
            raise Http404(f"No request '{request_id}' in the log.")
        return self.ok(log_data(row))


class RouteLogView(ApiView):
    @api_doc(response=RequestLogSerializer, paginated=True, summary="A route's requests, newest first.")
    def get(self, request, route: str):
        logs = RequestLogFilterSet().filter(RequestLog.objects.filter(route_id=route_or_404(route).pk))
        return self.page(logs, log_data)


COUNT_FIELDS = (
    "total",
    "status_2xx",
    "status_3xx",
    "status_4xx",
    "status_5xx",
    "gateway_errors",
    "rate_limited",
    "unauthorized",
    "bytes_in",
    "bytes_out",
    "errors",
)
RATE_FIELDS = (
    "error_rate",
    "rate_limited_rate",
    "unauthorized_rate",
    "success_rate",
    "p50_ms",
    "p95_ms",
    "p99_ms",
)
EnvironmentMetricsSerializer = type(
    "EnvironmentMetricsSerializer",
    (serializers.Serializer,),
    {
        "environment": serializers.CharField(),
        "display_name": serializers.CharField(),
        "color": serializers.CharField(),
        "latency_sum_ms": serializers.FloatField(),
        **{name: serializers.IntegerField() for name in COUNT_FIELDS},
        **{name: serializers.FloatField(allow_null=True) for name in RATE_FIELDS},
        "verdict": serializers.ChoiceField(choices=[HEALTHY, DEGRADED, DOWN, IDLE]),
        "verdict_reasons": serializers.ListField(child=serializers.CharField()),
        "__module__": __name__,
    },
)


def _route_ids(request) -> list[str] | None:
    """A route UUID is taken as given (a deleted route still has history); a slug is looked up."""
    ident = request.query_params.get("route")
    if not ident:
        return None
    try:
        return [str(uuid.UUID(ident))]
    except ValueError:
        return [str(route_or_404(ident).pk)]


class AnalyticsEnvironmentsView(ApiView):
    @api_doc(
        response=EnvironmentMetricsSerializer,
        many=True,
        parameters=[
            OpenApiParameter("window", OpenApiTypes.STR, enum=list(selectors.WINDOWS)),
            OpenApiParameter("route", OpenApiTypes.STR, description="Route UUID or slug."),
        ],
        summary=(
            "Per-environment metrics and health verdict over a window (rates are fractions, latencies "
            "milliseconds)."
        ),
    )
    def get(self, request):
        window = request.query_params.get("window", "1h")
        window = window if window in selectors.WINDOWS else "1h"
        route_ids = _route_ids(request)
        since, until, data = selectors.environment_comparison(window=window, route_ids=route_ids)
        return self.ok(
            EnvironmentMetricsSerializer(data, many=True).data,
            window=window,
            route=route_ids[0] if route_ids else None,
            since=since.isoformat(),
            until=until.isoformat(),
        )
