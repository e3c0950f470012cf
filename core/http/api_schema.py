"""OpenAPI descriptions shared by every app's api.py: the envelope, pagination meta and the error body."""

from functools import cache
from typing import Any

from django import forms
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from core.filters import FilterSet

from .api import WriteSerializer

# The OpenAPI type of a filter set's form field (core.filters); any other field is a string.
FILTER_TYPES = (
    (forms.IntegerField, OpenApiTypes.INT),
    (forms.FloatField, OpenApiTypes.FLOAT),
    (forms.DateTimeField, OpenApiTypes.DATETIME),
)


def filter_parameters(filterset: type[FilterSet], **names: str) -> list[OpenApiParameter]:
    """The query parameters of a list endpoint that filters with `filterset`: each `parameter=field` names
    the set's field it fills, typed, described and (a choice) enumerated by that field (one definition for
    console and API)."""
    parameters = []
    for parameter, field_name in names.items():
        field = filterset.base_fields[field_name]
        kind = next((t for form_type, t in FILTER_TYPES if isinstance(field, form_type)), OpenApiTypes.STR)
        choices = (
            [value for value, _ in field.choices if value] if isinstance(field, forms.ChoiceField) else None
        )
        description = str(field.help_text or "")
        parameters.append(OpenApiParameter(parameter, kind, enum=choices, description=description))
    return parameters


class ErrorDetailSerializer(serializers.Serializer):
    type = serializers.CharField()
    message = serializers.CharField()
    request_id = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
    status = serializers.IntegerField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class MetaSerializer(serializers.Serializer):
    request_id = serializers.CharField()


class PageMetaSerializer(MetaSerializer):
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    per_page = serializers.IntegerField()
    total_pages = serializers.IntegerField()


class CursorMetaSerializer(MetaSerializer):
    next_cursor = serializers.CharField(allow_null=True)
    limit = serializers.IntegerField()
    delivery = serializers.CharField()
    dedupe_on = serializers.CharField()
    watermark_seconds = serializers.IntegerField()


class DeletedSerializer(serializers.Serializer):
    deleted = serializers.BooleanField()


@cache
def envelope(
    item: type[serializers.Serializer],
    many: bool = False,
    meta: type[serializers.Serializer] = MetaSerializer,
) -> type[serializers.Serializer]:
    """`{"data": item | [item], "meta": meta}` as a named serializer, for the schema only."""
    base = item.__name__.removesuffix("Serializer")
    suffix = {MetaSerializer: "Envelope", PageMetaSerializer: "Page", CursorMetaSerializer: "Feed"}[meta]
    name = f"{base}{'List' if many and meta is MetaSerializer else ''}{suffix}"
    fields = {"data": item(many=many), "meta": meta()}
    return type(name, (serializers.Serializer,), {**fields, "__module__": __name__})


PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="Page number, from 1."),
    OpenApiParameter("per_page", OpenApiTypes.INT, description="Items per page: default 20, at most 100."),
]
ERRORS = {code: ErrorSerializer for code in (400, 401, 403, 404, 409, 413, 429)}


def api_doc(
    *,
    response: type[serializers.Serializer] | None,
    request: Any = None,
    many: bool = False,
    paginated: bool = False,
    cursor: bool = False,
    status: int = 200,
    parameters: list | None = None,
    **kwargs: Any,
):
    """extend_schema for a /v1 operation: the enveloped answer plus the documented error bodies.

    A list operation also remembers its documented query parameters, so ApiView refuses any other one
    (a misspelt filter would otherwise be ignored and return everything).
    """
    meta = PageMetaSerializer if paginated else CursorMetaSerializer if cursor else MetaSerializer
    answer = envelope(response, many=many or paginated or cursor, meta=meta) if response else None
    params = (PAGE_PARAMETERS if paginated else []) + (parameters or [])
    schema = extend_schema(request=request, responses={status: answer, **ERRORS}, parameters=params, **kwargs)

    def decorate(method):
        method = schema(method)
        if many or paginated or cursor:
            method.query_parameters = frozenset(p.name for p in params)
        return method

    return decorate


class ApiAutoSchema(AutoSchema):
    """Names list operations `…_list` (APIViews are otherwise all `…_retrieve`, and collide), and says that
    write bodies take no field beyond those listed (WriteSerializer refuses the others)."""

    def _map_basic_serializer(self, serializer, direction: str) -> dict:
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, WriteSerializer):
            schema["additionalProperties"] = False
        return schema

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        name = type(self.view).__name__
        if self.method == "GET" and (name.endswith("ListView") or name in LIST_VIEWS):
            operation_id = operation_id.replace("_retrieve", "_list")
        return operation_id


LIST_VIEWS = {"LogFeedView", "RouteLogView"}
