"""Reads for the routing console: the route list, the override matrix, comparisons and secrets in use."""

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from core.lookups import found_or_404
from core.permissions import may_change_protected
from environments.models import Environment
from secrets_vault.rendering import injected_secret_placeholders

from .compare import environment_compare
from .effective import OVERRIDDEN, EffectiveConfig, effective_config
from .models import OVERRIDABLE_FIELDS, Route, RouteClient, RouteOverride


def route_list(*, search: str = "", enabled: str = "", overrides: str = "") -> QuerySet[Route]:
    # An aggregate query drops Meta.ordering, so the order is explicit.
    routes = Route.objects.annotate(override_count=Count("overrides")).order_by("name")
    if search:
        routes = routes.filter(
            Q(name__icontains=search) | Q(slug__icontains=search) | Q(target_base_url__icontains=search)
        )
    if enabled in ("yes", "no"):
        routes = routes.filter(enabled=enabled == "yes")
    if overrides == "with":
        routes = routes.filter(override_count__gt=0)
    elif overrides == "without":
        routes = routes.filter(override_count=0)
    return routes.prefetch_related("overrides__environment")


def base_values(route: Route) -> dict[str, Any]:
    return {name: getattr(route, name) for name in OVERRIDABLE_FIELDS}


def effective_for(route: Route, environment: Environment) -> EffectiveConfig:
    override = RouteOverride.objects.filter(route=route, environment=environment).first()
    overrides = {name: getattr(override, name) for name in OVERRIDABLE_FIELDS} if override else None
    return effective_config(base_values(route), overrides)


def protected_disabled(route: Route) -> list[str]:
    """Protected environments where the route is disabled (a Developer's new route: all of them)."""
    protected = Environment.objects.filter(is_protected=True)
    return [e.name for e in protected if not effective_for(route, e)["enabled"]]


def disabled_for_new_routes_of(actor) -> list[str]:
    """The protected environments where a route this actor creates starts disabled (routing.services)."""
    if may_change_protected(actor):
        return []
    return list(Environment.objects.filter(is_protected=True).values_list("name", flat=True))


def disabled_notice(route: Route) -> str:
    """The sentence that tells whoever created or copied a route where it does not serve yet, or ""."""
    names = protected_disabled(route)
    if not names:
        return ""
    return (
        f"It is disabled in {', '.join(names)} (protected) until an Administrator enables it there "
        "(Environment Overrides, enabled)."
    )


@dataclass(frozen=True)
class Cell:
    field: str
    environment: Environment | None  # None: the base column
    value: Any
    overridden: bool
    can_edit: bool = False


def override_cell(route: Route, environment: Environment, field: str, can_edit: bool) -> Cell:
    config = effective_for(route, environment)
    return Cell(field, environment, config[field], field in config.overridden, can_edit)


def override_matrix(route: Route, editable: dict[str, bool]) -> list[dict[str, Any]]:
    """Rows = overridable fields; cells = base, then each environment's effective value and provenance."""
    environments = list(Environment.objects.all())
    configs = {e.name: effective_for(route, e) for e in environments}
    base = base_values(route)
    rows = []
    for field in OVERRIDABLE_FIELDS:
        cells = [Cell(field, None, base[field], False)]
        for environment in environments:
            config = configs[environment.name]
            cells.append(
                Cell(
                    field,
                    environment,
                    config[field],
                    field in config.overridden,
                    editable.get(environment.name, False),
                )
            )
        rows.append({"field": field, "cells": cells})
    return rows


def compare_environments(route: Route, left: Environment, right: Environment) -> list[dict[str, Any]]:
    """The overridable fields whose effective values differ between two environments (routing.compare, the
    same function the API's compare and promotion plans use)."""
    return [
        {
            "field": r.field,
            "left": r.before,
            "right": r.after,
            "left_overridden": r.provenance_before == OVERRIDDEN,
            "right_overridden": r.provenance_after == OVERRIDDEN,
        }
        for r in environment_compare(route, left, right, changed_only=True)
        if r.field in OVERRIDABLE_FIELDS
    ]


def secrets_in_use(route: Route) -> list[dict[str, Any]]:
    """Per environment: which placeholders its effective injected headers and body reference, and where."""
    rows = []
    for environment in Environment.objects.all():
        config = effective_for(route, environment)
        found = injected_secret_placeholders(config["inject_headers_json"], config["inject_body_json"])
        uses = [
            {"placeholder": f"{p.kind}:{p.arg}", "field": field, "overridden": field in config.overridden}
            for field, placeholders in found.items()
            for p in placeholders
        ]
        rows.append({"environment": environment, "uses": uses})
    return rows


def environment_clients(route: Route) -> list[dict[str, Any]]:
    """Per environment: the effective requires_clients (and where it comes from) and the assigned clients."""
    assigned = RouteClient.objects.filter(route=route).select_related("client")
    return [
        {
            "environment": e,
            "requires_clients": (c := effective_for(route, e))["requires_clients"],
            "overridden": "requires_clients" in c.overridden,
            "clients": [a.client for a in assigned if a.environment_id == e.pk],
        }
        for e in Environment.objects.all()
    ]


def route_find(ident: str) -> Route | None:
    """A route by UUID, slug or name: the same references the proxy accepts in x-knoxcall-route."""
    try:
        return Route.objects.filter(pk=uuid.UUID(ident)).first()
    except ValueError:
        return Route.objects.filter(slug=ident).first() or Route.objects.filter(name=ident).first()


def unavailable_routes() -> list[dict[str, Any]]:
    """Routes the gateway leaves out of its table (routing/table.py), one entry per route: id, name, slug,
    the environments and the reasons. For /readyz and the console banner."""
    from .proxy.snapshot import unresolvable

    routes: dict[str, dict[str, Any]] = {}
    for item in unresolvable():
        entry = routes.setdefault(
            item.route_id,
            {
                "route_id": item.route_id,
                "name": item.route_name,
                "slug": item.slug,
                "environments": [],
                "reasons": [],
            },
        )
        entry["environments"].append(item.environment)
        if item.reason not in entry["reasons"]:
            entry["reasons"].append(item.reason)
    for entry in routes.values():
        entry["environments"].sort()
    return sorted(routes.values(), key=lambda entry: entry["name"].casefold())


def route_or_404(ident: str) -> Route:
    """The route named by UUID, slug or name in a /v1 path or body, or a 404 that says which."""
    return found_or_404(route_find(ident), f"No route '{ident}'.")


def revision_route_id(ident: str) -> uuid.UUID | None:
    """The route id behind a reference: a live route by UUID, slug or name, or, by UUID only, a deleted
    route that left revisions (so it can be looked at and brought back)."""
    from .models import RouteRevision

    route = route_find(ident)
    if route is not None:
        return route.pk
    try:
        route_id = uuid.UUID(ident)
    except ValueError:
        return None
    return route_id if RouteRevision.objects.filter(route_id=route_id).exists() else None


def route_revisions(route_id: uuid.UUID):
    from .models import RouteRevision

    return RouteRevision.objects.filter(route_id=route_id).select_related("actor_user").order_by("-number")


@dataclass(frozen=True)
class DeletedRoute:
    """A route gone from the table but kept in its revisions: what the console shows to bring it back."""

    pk: uuid.UUID
    name: str
    slug: str
    target_base_url: str
    deleted_at: Any
    deleted_by: str
    enabled: bool = False
    deleted: bool = True


def deleted_route(route_id: uuid.UUID) -> DeletedRoute | None:
    """The deleted route of this id, described by its last revision before the deletion; None if it exists
    or never had revisions."""
    if Route.objects.filter(pk=route_id).exists():
        return None
    revisions = list(route_revisions(route_id)[:2])
    if len(revisions) < 2 or not revisions[0].deleted:
        return None
    last = revisions[1].document
    return DeletedRoute(
        route_id,
        last["name"],
        last["slug"],
        last["target_base_url"],
        revisions[0].created_at,
        revisions[0].actor_label,
    )


def deleted_routes() -> list[DeletedRoute]:
    from .models import RouteRevision

    deleted = set(RouteRevision.objects.filter(action="delete").values_list("route_id", flat=True))
    gone = deleted - set(Route.objects.values_list("pk", flat=True))
    found = [deleted_route(route_id) for route_id in gone]
    return sorted((d for d in found if d), key=lambda d: d.deleted_at, reverse=True)
