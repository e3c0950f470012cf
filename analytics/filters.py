"""The request log's one filter set: the console's Requests page (and its CSV export) and /v1/logs."""

import uuid

from django import forms
from django.db.models import QuerySet

from core.filters import FilterSet
from routing.selectors import route_or_404

from .models import RequestLog
from .selectors import STATUS_CLASSES

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
ISO_8601 = "{name} must be an ISO 8601 date and time, e.g. 2026-11-28T09:00:00Z."


def _moment(name: str, help_text: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        required=False,
        help_text=help_text,
        error_messages={"invalid": ISO_8601.format(name=name)},
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class RequestLogFilterSet(FilterSet):
    environment = forms.CharField(required=False)
    route = forms.CharField(required=False, help_text="Route UUID or slug.")
    status_class = forms.ChoiceField(
        choices=[("", "Any status"), *((c, c) for c in STATUS_CLASSES)], required=False
    )
    status_code = forms.IntegerField(required=False, min_value=1, max_value=999)
    method = forms.CharField(required=False)
    client_ip = forms.GenericIPAddressField(required=False, label="Client IP")
    min_latency_ms = forms.FloatField(required=False, min_value=0, label="Latency ≥ (ms)")
    max_latency_ms = forms.FloatField(required=False, min_value=0, label="Latency ≤ (ms)")
    since = _moment("since", "ISO 8601; requests at or after it.")
    until = _moment("until", "ISO 8601; requests before it.")
    order = forms.ChoiceField(
        choices=[("newest", "Newest first"), ("oldest", "Oldest first")], required=False
    )

    lookups = {
        "environment": "environment",
        "route": "route_id",
        "status_code": "status",
        "method": "method",
        "client_ip": "client_ip",
        "min_latency_ms": "latency_ms__gte",
        "max_latency_ms": "latency_ms__lte",
        "since": "timestamp__gte",
        "until": "timestamp__lt",
    }

    def clean_route(self) -> str | uuid.UUID:
        """The route's id, found by UUID or slug; a route that does not exist is a 404 (as /v1 paths
        naming one), not an empty list that would look like a route nobody called."""
        ident = self.cleaned_data["route"]
        return route_or_404(ident).pk if ident else ""

    def clean_method(self) -> str:
        return self.cleaned_data["method"].upper()

    def filter(self, queryset: QuerySet[RequestLog]) -> QuerySet[RequestLog]:
        logs, values = super().filter(queryset), self.values()
        if values.get("status_class") in STATUS_CLASSES:
            low = int(values["status_class"][0]) * 100
            logs = logs.filter(status__gte=low, status__lt=low + 100)
        order = "timestamp" if values.get("order") == "oldest" else "-timestamp"
        return logs.order_by(order, order.replace("timestamp", "id"))

    def logs(self) -> QuerySet[RequestLog]:
        return self.filter(RequestLog.objects.all())
