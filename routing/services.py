"""Writes to routes and Environment Overrides: validate, save, audit and bump the version atomically."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify

from core.audit import Actor, record_change, snapshot
from core.permissions import may_change_protected, require_approval_path, require_change
from core.updates import apply_fields, refuse_unknown_fields
from environments.models import Client, Environment

from .effective import serves_change
from .models import OVERRIDABLE_FIELDS, Route, RouteClient, RouteOverride
from .release_guard import refuse_during_release
from .revisions import revision_capture, revision_scope, revisioned, routes_naming
from .validation import INJECTION_FIELDS, check_secret_references, clean_route_values

ROUTE_FIELDS = ["name", "slug", "description", "residency_locked", *OVERRIDABLE_FIELDS]
ROUTE_EDITABLE = set(ROUTE_FIELDS) - {"slug"}
# What an environment serves from the base route: the overridable values, and the name, which callers may
# send in x-knoxcall-route. The description serves nothing.
SERVED_FIELDS = ("name", "residency_locked", *OVERRIDABLE_FIELDS)
# The override a Developer's new route gets in each protected environment: disabled until an Administrator
# enables it there.
PIN = {"enabled": False}
UPDATE_REACHES = (
    "The route is live there (or this change would enable it there) and inherits what you changed. A "
    "Developer may change a route's base values while it is disabled in the protected environments."
)
OVERRIDE_REACHES = "A route a Developer creates stays disabled there until an Administrator enables it."
DELETE_REACHES = "The route is live there or holds settings made there; ask an Administrator to delete it."


def _derive_slug(name: str) -> str:
    base = slugify(name)[:63].strip("-") or "route"
    slug, n = base, 2
    while Route.objects.filter(Q(slug=slug) | Q(name__iexact=slug)).exists():  # a name is a key too
        suffix = f"-{n}"
        slug, n = f"{base[: 63 - len(suffix)]}{suffix}", n + 1
    return slug


def _overrides_by_environment(route: Route) -> dict[int, dict[str, Any]]:
    return {o.environment_id: o.overridden_values() for o in RouteOverride.objects.filter(route=route)}


def protected_reached(route: Route, changes: dict[str, Any]) -> list[str]:
    """Protected environments whose served configuration these base changes alter (routing.effective)."""
    base = {name: getattr(route, name) for name in SERVED_FIELDS}
    overrides = _overrides_by_environment(route)
    return [
        environment.name
        for environment in Environment.objects.filter(is_protected=True)
        if serves_change(base, overrides.get(environment.pk), changes)
    ]


def protected_holding(route: Route) -> list[str]:
    """Protected environments a route's deletion changes: it is live there, or it holds overrides (beyond a
    Developer's pin) or client assignments there, which only an Administrator could have made."""
    overrides = _overrides_by_environment(route)
    assigned = set(RouteClient.objects.filter(route=route).values_list("environment_id", flat=True))
    names = []
    for environment in Environment.objects.filter(is_protected=True):
        override = overrides.get(environment.pk, {})
        live = override.get("enabled", route.enabled)
        if live or override not in ({}, PIN) or environment.pk in assigned:
            names.append(environment.name)
    return names


def gated_reached(route: Route, changes: dict[str, Any]) -> list[Environment]:
    """Environments that take changes only by promotion whose served configuration these base changes
    alter (core.permissions.require_approval_path refuses the write if there are any)."""
    gated = list(Environment.objects.filter(changes_require_approval=True))
    if not gated:
        return []
    base = {name: getattr(route, name) for name in SERVED_FIELDS}
    overrides = _overrides_by_environment(route)
    return [e for e in gated if serves_change(base, overrides.get(e.pk), changes)]


@revisioned
def route_create(*, actor: Actor, name: str, target_base_url: str, slug: str = "", **fields: Any) -> Route:
    """Create a route. A new route's base values are live in every environment that inherits them, so a
    Developer's route is created disabled (an `enabled=False` override) in every protected environment:
    it reaches none of them until an Administrator enables it there."""
    refuse_unknown_fields(fields, ROUTE_EDITABLE, "route")
    require_change(actor)  # no protected environment: a Developer's route is pinned off in all of them
    values = clean_route_values({"target_base_url": target_base_url, **fields})
    route = Route(name=name.strip(), slug=slug or _derive_slug(name), **values)
    route.full_clean()
    route.save()
    revision_capture(route_id=route.pk, action="create", actor=actor)
    record_change(
        actor=actor,
        action="create",
        resource_type="route",
        resource_id=route.pk,
        resource_name=route.name,
        after=snapshot(route, ROUTE_FIELDS),
    )
    if not may_change_protected(actor):
        for environment in Environment.objects.filter(is_protected=True):
            _override_write(actor, route, environment, PIN)
    if set(fields) & set(INJECTION_FIELDS):
        check_secret_references(route)
    return route


@revisioned
def route_update(*, actor: Actor, route: Route, **fields: Any) -> Route:
    """Change base fields; the slug is write-once because callers put it in their headers."""
    if "slug" in fields and fields["slug"] != route.slug:
        raise ValidationError({"slug": "A route's slug cannot change once created."})
    fields.pop("slug", None)
    refuse_unknown_fields(fields, ROUTE_EDITABLE, "route")
    action = "update"
    if set(fields) == {"enabled"}:
        action = "enable" if fields["enabled"] else "disable"
    revision_capture(route_id=route.pk, action=action, actor=actor, fields=sorted(fields))
    route = Route.objects.select_for_update().get(pk=route.pk)
    require_change(actor)  # a Viewer is refused before their values are looked at
    values = clean_route_values(fields)
    require_change(actor, protected=protected_reached(route, values), why=UPDATE_REACHES)
    require_approval_path(gated_reached(route, values))
    refuse_during_release(route.pk, [name for name, value in values.items() if getattr(route, name) != value])
    before = snapshot(route, ROUTE_FIELDS)
    apply_fields(route, values)
    if set(fields) & set(INJECTION_FIELDS):
        check_secret_references(route)
    after = snapshot(route, ROUTE_FIELDS)
    record_change(
        actor=actor,
        action=action,
        resource_type="route",
        resource_id=route.pk,
        resource_name=route.name,
        before=before,
        after=after,
    )
    return route


@revisioned
def route_delete(*, actor: Actor, route: Route) -> None:
    revision_capture(route_id=route.pk, action="delete", actor=actor)
    require_change(actor, protected=protected_holding(route), why=DELETE_REACHES)
    before = snapshot(route, ROUTE_FIELDS)
    route_id = route.pk
    route.delete()
    record_change(
        actor=actor,
        action="delete",
        resource_type="route",
        resource_id=route_id,
        resource_name=before["name"],
        before=before,
    )


def _override_values(override: RouteOverride | None) -> dict[str, Any]:
    return snapshot(override, list(OVERRIDABLE_FIELDS)) if override else dict.fromkeys(OVERRIDABLE_FIELDS)


@revisioned
def route_override_update(
    *, actor: Actor, route: Route, environment: Environment, **fields: Any
) -> RouteOverride | None:
    """Set the given override fields for one environment; a None value resets that field to inherit.

    Fields not named keep their current override. A row left with every field NULL is removed, so
    "number of overrides" counts only environments that really differ from the base.
    """
    refuse_unknown_fields(fields, OVERRIDABLE_FIELDS, "override")
    protected = [environment.name] if environment.is_protected else []
    require_change(actor, protected=protected, why=OVERRIDE_REACHES)
    require_approval_path([environment])
    current = (
        RouteOverride.objects.filter(route=route, environment=environment).values(*OVERRIDABLE_FIELDS).first()
    )
    changing = [name for name, value in fields.items() if (current or {}).get(name) != value]
    refuse_during_release(route.pk, changing, [environment.pk])
    return _override_write(actor, route, environment, fields)


def _override_write(
    actor: Actor, route: Route, environment: Environment, fields: dict[str, Any]
) -> RouteOverride | None:
    """route_override_update after its permission check; the route services that decide themselves that a
    write does not reach a protected environment (a Developer's pin) call this directly."""
    revision_capture(
        route_id=route.pk, action="override", actor=actor, environment=environment.name, fields=sorted(fields)
    )
    override = RouteOverride.objects.select_for_update().filter(route=route, environment=environment).first()
    before = _override_values(override)
    override = override or RouteOverride(route=route, environment=environment)
    values = clean_route_values(fields)
    apply_fields(override, values, validate=lambda o: o.full_clean(validate_unique=False), save=False)
    if override.overridden_values():
        override.save()
        after = _override_values(override)
        if any(fields.get(name) is not None for name in INJECTION_FIELDS):
            check_secret_references(route, [environment])
    else:
        if override.pk:
            override.delete()
        override, after = None, dict.fromkeys(OVERRIDABLE_FIELDS)
    if before != after:
        record_change(
            actor=actor,
            action="override",
            resource_type="route",
            resource_id=route.pk,
            resource_name=route.name,
            environment=environment.name,
            before=before,
            after=after,
        )
    return override


@revisioned
def route_override_replace(
    *, actor: Actor, route: Route, environment: Environment, **fields: Any
) -> RouteOverride | None:
    """Replace an environment's whole override: fields not given inherit (the API's PUT)."""
    refuse_unknown_fields(fields, OVERRIDABLE_FIELDS, "override")
    values = dict.fromkeys(OVERRIDABLE_FIELDS) | fields
    return route_override_update(actor=actor, route=route, environment=environment, **values)


def route_override_delete(*, actor: Actor, route: Route, environment: Environment) -> None:
    route_override_replace(actor=actor, route=route, environment=environment)


@revisioned
def route_client_assign(
    *, actor: Actor, route: Route, environment: Environment, client: Client
) -> RouteClient:
    """Allow a client to call the route in one environment (idempotent)."""
    require_change(actor, protected=[environment.name] if environment.is_protected else [])
    require_approval_path([environment])
    revision_capture(route_id=route.pk, action="assign_client", actor=actor, environment=environment.name)
    assignment, created = RouteClient.objects.get_or_create(
        route=route, environment=environment, client=client
    )
    if created:
        record_change(
            actor=actor,
            action="assign_client",
            resource_type="route",
            resource_id=route.pk,
            resource_name=route.name,
            environment=environment.name,
            after={"client": client.name, "ip_address": client.ip_address},
        )
    return assignment


@revisioned
def route_client_unassign(*, actor: Actor, route: Route, environment: Environment, client: Client) -> None:
    require_change(actor, protected=[environment.name] if environment.is_protected else [])
    require_approval_path([environment])
    revision_capture(route_id=route.pk, action="unassign_client", actor=actor, environment=environment.name)
    deleted, _ = RouteClient.objects.filter(route=route, environment=environment, client=client).delete()
    if deleted:
        record_change(
            actor=actor,
            action="unassign_client",
            resource_type="route",
            resource_id=route.pk,
            resource_name=route.name,
            environment=environment.name,
            before={"client": client.name, "ip_address": client.ip_address},
        )


def _copy_name(name: str) -> str:
    candidate, n = f"{name} (copy)", 2
    while Route.objects.filter(name__iexact=candidate).exists():
        candidate, n = f"{name} (copy {n})", n + 1
    return candidate[:100]


def route_duplicate(*, actor: Actor, route: Route) -> Route:
    """A new route with the same base values and the same overrides, under a new name and slug.

    A Developer's copy is disabled in every protected environment, like any route they create: the
    original's overrides there come along (an Administrator's settings, ready for when one enables the
    copy) but pinned `enabled=False`, so the copy serves nothing there. One revision: the copy as made.
    """
    with transaction.atomic(), revision_scope(action="duplicate", actor=actor):
        return _duplicate(actor, route)


def _duplicate(actor: Actor, route: Route) -> Route:
    values = {name: getattr(route, name) for name in OVERRIDABLE_FIELDS if name != "target_base_url"}
    name = _copy_name(route.name)
    copy = route_create(
        actor=actor, name=name, target_base_url=route.target_base_url, description=route.description, **values
    )
    for override in route.overrides.select_related("environment"):
        environment, fields = override.environment, override.overridden_values()
        if environment.is_protected and not may_change_protected(actor):
            _override_write(actor, copy, environment, {**fields, **PIN})
        else:
            route_override_update(actor=actor, route=copy, environment=environment, **fields)
    return copy


def environment_configuration_copy(actor: Actor, parent: Environment, child: Environment) -> None:
    """Copy the parent's override rows and client assignments, so the child serves and admits what the
    parent does from its first call. Audited as one entry; the create's version bump covers the table.
    Each route with something copied gets one revision (its document gains the child's entries)."""
    with revision_scope(action="environment_clone", actor=actor):
        for route_id in routes_naming(environment=parent):
            revision_capture(
                route_id=route_id, action="environment_clone", actor=actor, environment=child.name
            )
        counts = _copy_configuration(parent, child)
    record_change(
        actor=actor,
        action="clone",
        resource_type="environment",
        resource_id=child.pk,
        resource_name=child.name,
        environment=child.name,
        after={"from": parent.name, **counts},
    )


def _copy_configuration(parent: Environment, child: Environment) -> dict[str, int]:
    overrides = list(RouteOverride.objects.filter(environment=parent))
    for row in overrides:
        row.pk, row.environment = None, child
    RouteOverride.objects.bulk_create(overrides)
    assignments = [
        RouteClient(route_id=a.route_id, environment=child, client_id=a.client_id)
        for a in RouteClient.objects.filter(environment=parent)
    ]
    RouteClient.objects.bulk_create(assignments)
    return {"overrides": len(overrides), "client_assignments": len(assignments)}
