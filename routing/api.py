"""/v1 endpoints of the routing app: routes, their per-environment overrides and their request logs.

A route is addressed by its UUID or its slug. `PUT /v1/routes/{id}/environments/{env}` replaces the whole
override of that environment: a field left out, or sent as null, inherits the base route (NULL = inherit).
`PATCH` on the same path merges: fields left out keep their override, a null resets that one field to inherit.
"""

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Count
from rest_framework import serializers

from core.http.api import ApiView, WriteSerializer
from core.http.api_schema import DeletedSerializer, api_doc
from environments.models import Environment
from environments.selectors import environment_or_404
from routing.selectors import route_or_404

from . import services
from .effective import effective_config
from .models import OVERRIDABLE_FIELDS, Route, RouteOverride
from .selectors import base_values, disabled_notice

MAX_INT = 2**31 - 1

# What a model field cannot say about its API shape: the strings inside a JSON list or object, and how many.
API_EXTRAS: dict[str, dict[str, int]] = {
    "allowed_methods": {"child_max_length": 16, "max_length": 10},
    "inject_headers_json": {"child_max_length": 4096},
}


def default_environment_name() -> str | None:
    return Environment.objects.filter(is_default=True).values_list("name", flat=True).first()


def _bounds(field: models.Field) -> dict[str, int]:
    """min_value/max_value from the model field's validators, within the database's int column."""
    lows = [v.limit_value for v in field.validators if isinstance(v, MinValueValidator)]
    highs = [v.limit_value for v in field.validators if isinstance(v, MaxValueValidator)]
    if isinstance(field, models.PositiveIntegerField):
        lows.append(0)
    return {"min_value": max(lows, default=-MAX_INT - 1), "max_value": min([*highs, MAX_INT])}


def api_field(name: str, *, write: bool, nullable: bool = False) -> serializers.Field:
    """The DRF field of one overridable field, read from its declaration in OVERRIDABLE_FIELDS.

    Write fields carry the model's limits (max_length, min/max) and API_EXTRAS; read fields only the shape.
    """
    field = OVERRIDABLE_FIELDS[name]
    # A base route must be given what has no default (its target); an override never must.
    opts: dict[str, Any] = {"required": not nullable and not field.has_default(), "allow_null": nullable}
    opts = opts if write else {}
    if isinstance(field, models.BooleanField):
        return serializers.BooleanField(**opts)
    if isinstance(field, models.IntegerField):
        return serializers.IntegerField(**opts, **(_bounds(field) if write else {}))
    if isinstance(field, models.CharField):
        return serializers.CharField(**opts, **({"max_length": field.max_length} if write else {}))
    if isinstance(field, models.JSONField):
        return _json_field(name, field, opts, write)
    raise TypeError(f"No API field for {name} ({type(field).__name__}); add it to routing.api.api_field.")


def _json_field(name: str, field: models.JSONField, opts: dict[str, Any], write: bool) -> serializers.Field:
    """A JSON list or object (by the model's default); API_EXTRAS says what its items are."""
    shape = serializers.ListField if field.default is list else serializers.DictField
    extras = dict(API_EXTRAS.get(name, {}))
    child_max_length = extras.pop("child_max_length", None)
    if child_max_length is not None:
        opts = {**opts, "child": serializers.CharField(**({"max_length": child_max_length} if write else {}))}
    return shape(**opts, **(extras if write else {}))


def _config_fields(nullable: bool) -> dict[str, serializers.Field]:
    """Writable overridable fields; nullable for overrides (null = inherit)."""
    return {name: api_field(name, write=True, nullable=nullable) for name in OVERRIDABLE_FIELDS}


def _serializer(class_name: str, base: type[serializers.Serializer], /, **fields: serializers.Field) -> type:
    return type(class_name, (base,), {**fields, "__module__": __name__})


def _read_fields() -> dict[str, serializers.Field]:
    """The effective value of every overridable field, in each answer that shows a route's configuration."""
    return {name: api_field(name, write=False) for name in OVERRIDABLE_FIELDS}


RouteWriteSerializer = _serializer(
    "RouteWriteSerializer",
    WriteSerializer,
    name=serializers.CharField(max_length=100),
    slug=serializers.CharField(max_length=63, required=False, help_text="Write-once; derived from the name."),
    description=serializers.CharField(required=False, allow_blank=True, max_length=2000),
    residency_locked=serializers.BooleanField(
        required=False, help_text="In a region group, never fail over: answer 503 region_unavailable."
    ),
    **_config_fields(nullable=False),
)
OverrideWriteSerializer = _serializer(
    "RouteEnvironmentWriteSerializer", WriteSerializer, **_config_fields(nullable=True)
)
RouteSerializer = _serializer(
    "RouteSerializer",
    serializers.Serializer,
    id=serializers.UUIDField(),
    name=serializers.CharField(),
    slug=serializers.CharField(),
    description=serializers.CharField(),
    residency_locked=serializers.BooleanField(),
    base_environment=serializers.CharField(allow_null=True),
    **_read_fields(),
    environment_override_count=serializers.IntegerField(),
    created_at=serializers.DateTimeField(),
    updated_at=serializers.DateTimeField(),
)


class RouteDetailSerializer(RouteSerializer):
    configured_environments = serializers.ListField(child=serializers.CharField())


def route_data(route: Route, detail: bool = False, base_environment: str | None = None) -> dict:
    route.base_environment = base_environment or default_environment_name()
    if not hasattr(route, "override_count"):
        route.override_count = route.overrides.count()
    route.environment_override_count = route.override_count
    if detail:
        route.configured_environments = sorted(route.overrides.values_list("environment__name", flat=True))
        return RouteDetailSerializer(route).data
    return RouteSerializer(route).data


def _notice(route: Route) -> dict[str, str]:
    """meta.notice when the new route does not serve a protected environment (a Developer's route)."""
    notice = disabled_notice(route)
    return {"notice": f"Route {route.slug} created. {notice}"} if notice else {}


class RouteListView(ApiView):
    @api_doc(response=RouteSerializer, paginated=True)
    def get(self, request):
        routes = Route.objects.annotate(override_count=Count("overrides")).order_by("name")
        base_environment = default_environment_name()  # once per page, not once per route
        return self.page(routes, lambda route: route_data(route, base_environment=base_environment))

    @api_doc(request=RouteWriteSerializer, response=RouteDetailSerializer, status=201)
    def post(self, request):
        serializer = RouteWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        route = services.route_create(actor=self.actor, **serializer.validated_data)
        return self.ok(route_data(route, detail=True), status=201, **_notice(route))


class RouteDetailView(ApiView):
    @api_doc(response=RouteDetailSerializer)
    def get(self, request, route: str):
        return self.ok(route_data(route_or_404(route), detail=True))

    @api_doc(request=RouteWriteSerializer(partial=True), response=RouteDetailSerializer)
    def patch(self, request, route: str):
        serializer = RouteWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        updated = services.route_update(
            actor=self.actor, route=route_or_404(route), **serializer.validated_data
        )
        return self.ok(route_data(updated, detail=True))

    @api_doc(response=DeletedSerializer)
    def delete(self, request, route: str):
        services.route_delete(actor=self.actor, route=route_or_404(route))
        return self.ok({"deleted": True})


# --- route environments -----------------------------------------------------------------------------------
RouteEnvironmentSerializer = _serializer(
    "RouteEnvironmentSerializer",
    serializers.Serializer,
    environment_name=serializers.CharField(),
    is_default=serializers.BooleanField(),
    has_override=serializers.BooleanField(),
    overridden_fields=serializers.ListField(child=serializers.CharField()),
    override=serializers.DictField(allow_empty=True, help_text="The stored override: null = inherit."),
    **_read_fields(),
)


def route_environment_data(route: Route, environment: Environment, override: RouteOverride | None) -> dict:
    stored = {name: getattr(override, name) if override else None for name in OVERRIDABLE_FIELDS}
    config = effective_config(base_values(route), stored)
    return RouteEnvironmentSerializer(
        {
            "environment_name": environment.name,
            "is_default": environment.is_default,
            "has_override": override is not None,
            "overridden_fields": sorted(config.overridden),
            "override": stored,
            **config.values,
        }
    ).data


class RouteEnvironmentChangeSerializer(RouteEnvironmentSerializer):
    changed_fields = serializers.ListField(
        child=serializers.CharField(), help_text="Override fields whose stored value this request changed."
    )


def _stored_override(route: Route, environment: Environment) -> RouteOverride | None:
    return route.overrides.filter(environment=environment).first()


def _changed_fields(before: RouteOverride | None, after: RouteOverride | None) -> list[str]:
    def stored(override: RouteOverride | None, name: str):
        return getattr(override, name) if override else None

    return [name for name in OVERRIDABLE_FIELDS if stored(before, name) != stored(after, name)]


class RouteEnvironmentListView(ApiView):
    @api_doc(
        response=RouteEnvironmentSerializer,
        many=True,
        summary="Every environment's effective configuration of the route, and what it overrides.",
    )
    def get(self, request, route: str):
        instance = route_or_404(route)
        overrides = {o.environment_id: o for o in instance.overrides.all()}
        return self.ok(
            [route_environment_data(instance, e, overrides.get(e.pk)) for e in Environment.objects.all()]
        )


class RouteEnvironmentDetailView(ApiView):
    @api_doc(response=RouteEnvironmentSerializer)
    def get(self, request, route: str, env: str):
        instance, environment = route_or_404(route), environment_or_404(env)
        override = instance.overrides.filter(environment=environment).first()
        return self.ok(route_environment_data(instance, environment, override))

    @api_doc(
        request=OverrideWriteSerializer,
        response=RouteEnvironmentSerializer,
        summary="Replace the environment's whole override: every field left out or null inherits the base "
        "route, so a field you do not send is reset. Use PATCH to change some fields and keep the rest.",
    )
    def put(self, request, route: str, env: str):
        instance, environment = route_or_404(route), environment_or_404(env)
        serializer = OverrideWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        override = services.route_override_replace(
            actor=self.actor, route=instance, environment=environment, **serializer.validated_data
        )
        return self.ok(route_environment_data(instance, environment, override))

    @api_doc(
        request=OverrideWriteSerializer(partial=True),
        response=RouteEnvironmentChangeSerializer,
        summary="Merge into the environment's override: fields left out keep their value, null resets one "
        "field to inherit. Answers the effective configuration and the fields that changed.",
    )
    def patch(self, request, route: str, env: str):
        instance, environment = route_or_404(route), environment_or_404(env)
        serializer = OverrideWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        before = _stored_override(instance, environment)
        override = services.route_override_update(
            actor=self.actor, route=instance, environment=environment, **serializer.validated_data
        )
        data = route_environment_data(instance, environment, override)
        return self.ok({**data, "changed_fields": _changed_fields(before, override)})

    @api_doc(response=DeletedSerializer, summary="Remove the override: the environment inherits everything.")
    def delete(self, request, route: str, env: str):
        services.route_override_delete(
            actor=self.actor, route=route_or_404(route), environment=environment_or_404(env)
        )
        return self.ok({"deleted": True})
