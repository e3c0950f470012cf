"""Rollback of a route, or of one environment's view of it, to an earlier revision.

One transaction, one audit entry ("rollback"), one new revision. The writes go through the same cleaning,
model validation, permission rule and secret check as any route write; a revision whose `{{secret:NAME}}`
no longer resolves is refused with `secret_missing` and nothing changes. A rollback that would change a
running release's candidate fields where it runs is refused with `release_in_progress`, as a direct write
is (release_guard). Secret values are never rolled back (they are shared by every route and may have been
rotated on purpose): the preview lists the ones whose value version changed since. A deleted route comes
back with its id and slug.

What else a rollback starts is not routing's business: deployments opens a watched deployment for it (its
page, its events on the notification channels). Deployments sits above routing, so it installs a watcher
here at start-up (DeploymentsConfig.ready), which route_rollback calls inside its transaction.
"""

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction

from core.audit import Actor, record_change
from core.permissions import require_change
from core.updates import apply_fields
from environments.models import Client, Environment

from .compare import FieldDiff, compare_views, revision_diff
from .document import SECRET_REFS, current_secrets, document_digest, secret_refs
from .effective import effective_config
from .models import OVERRIDABLE_FIELDS, Route, RouteClient, RouteOverride, RouteRevision
from .release_guard import refuse_document_change_during_release
from .revisions import current_document, latest_revision, lock_route, revision_capture, revision_scope
from .validation import check_secret_references, clean_route_values

SCOPES = ("route", "environment")
ROLLBACK_REACHES = "The rollback changes what it serves there or the settings made there."


@dataclass
class RollbackPreview:
    revision: RouteRevision
    scope: str
    environment: str
    desired: dict[str, Any]  # the document the rollback would leave, without secret_refs
    changes: list[FieldDiff]
    secret_changes: list[dict[str, Any]] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)
    recreates: bool = False  # the route was deleted and comes back


@dataclass(frozen=True)
class RollbackDone:
    """A rollback that wrote something: what it restored, and the revision to go back to (`previous`)."""

    actor: Actor
    route_id: UUID
    route_name: str
    scope: str
    environment: str  # "" for a whole route
    to_revision: int
    revision: RouteRevision  # the new one
    previous: int | None
    reason: str


@dataclass(frozen=True)
class RollbackResult:
    revision: RouteRevision  # the new one, or the latest when the route already equalled the target
    # The id of what watches the change (a deployment); None when nothing changed or nothing watches.
    watch: str | None


class RollbackWatch:
    """What routing asks of the app watching rollbacks; with nothing installed, nothing watches."""

    def rollback_done(self, done: RollbackDone) -> str | None:
        """Called inside the rollback's transaction, after its revision is recorded; returns the id of
        what now watches the change."""
        return None

    def watch_pages(self, route_id: UUID) -> dict[int, str]:
        """Revision number → URL of the page watching the change that revision made."""
        return {}


_watch = RollbackWatch()


def install(watch: RollbackWatch) -> None:
    global _watch
    _watch = watch


def watch_pages(route_id: UUID) -> dict[int, str]:
    return _watch.watch_pages(route_id)


def revision_get(route_id: UUID, number: int) -> RouteRevision:
    try:
        return RouteRevision.objects.get(route_id=route_id, number=number)
    except RouteRevision.DoesNotExist:
        raise ObjectDoesNotExist(f"The route has no revision {number}.") from None


def _configuration(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != SECRET_REFS}


def environment_view_override(target: dict, current: dict, environment: str) -> dict[str, Any]:
    """Pure: the sparse override that makes `environment` serve what it served in `target`, on top of the
    current base. Fields target overrode stay overrides; fields it inherited are pinned only where the base
    has moved since."""
    target_override = target.get("overrides", {}).get(environment, {})
    config = effective_config({k: target[k] for k in OVERRIDABLE_FIELDS}, target_override)
    return {k: config[k] for k in OVERRIDABLE_FIELDS if k in target_override or config[k] != current.get(k)}


def desired_document(target: dict, current: dict, scope: str, environment: str) -> dict[str, Any]:
    """Pure: the route document a rollback leaves. Scope "route": the target's configuration exactly;
    scope "environment": the current document with that environment's override and clients from target."""
    if not target:
        raise ValidationError("That revision is the route's deletion; delete the route instead.")
    if scope == "route":
        return _configuration(target)
    if not current:
        raise ValidationError("The route is deleted: roll back the whole route to bring it back.")
    desired = _configuration(current)
    overrides = dict(desired.get("overrides", {}))
    overrides[environment] = environment_view_override(target, current, environment)
    clients = dict(desired.get("clients", {}))
    clients[environment] = target.get("clients", {}).get(environment, [])
    desired["overrides"] = {k: v for k, v in sorted(overrides.items()) if v}
    desired["clients"] = {k: v for k, v in sorted(clients.items()) if v}
    return desired


def _check_scope(scope: str, environment: str | None) -> str:
    if scope not in SCOPES:
        raise ValidationError({"scope": f"Use one of: {', '.join(SCOPES)}."})
    if scope == "environment":
        if not environment:
            raise ValidationError({"environment": "Name the environment to roll back."})
        if not Environment.objects.filter(name=environment).exists():
            raise ObjectDoesNotExist(f"No environment named {environment!r}.")
        return environment
    return ""


def secret_changes(revision: RouteRevision, desired: dict[str, Any]) -> list[dict[str, Any]]:
    """Secrets the restored templates use whose value version changed since the revision: they stay as
    they are now."""
    now = secret_refs(desired, _environment_names(), current_secrets())
    then = {
        (env, ref["ref"]): ref["value_version"]
        for env, refs in revision.document.get(SECRET_REFS, {}).items()
        for ref in refs
    }
    changed = []
    for env, refs in sorted(now.items()):
        for ref in refs:
            before = then.get((env, ref["ref"]))
            if before != ref["value_version"]:
                item = {"environment": env, "secret": ref["name"] or ref["ref"], "ref": ref["ref"]}
                changed.append(item | {"then": before, "now": ref["value_version"]})
    return changed


def _environment_names() -> list[str]:
    return list(Environment.objects.values_list("name", flat=True))


def protected_reached(current: dict, desired: dict) -> list[str]:
    """Protected environments a rollback changes: their override row or clients, or what they serve while
    the route is live there (the rules route_override_update and route_update apply to a single write)."""
    names = []
    for environment in Environment.objects.filter(is_protected=True).values_list("name", flat=True):
        settings = any(
            (current.get(part) or {}).get(environment) != (desired.get(part) or {}).get(environment)
            for part in ("overrides", "clients")
        )
        rows = compare_views(current, environment, desired, environment)
        enabled = next(r for r in rows if r.field == "enabled")
        served = any(r.changed for r in rows) and bool(enabled.before or enabled.after)
        if settings or served:
            names.append(environment)
    return names


def rollback_preview(
    route_id: UUID, to_revision: int, scope: str = "route", environment: str | None = None
) -> RollbackPreview:
    """What rolling back would change, field by field, and which secret values moved on since."""
    environment = _check_scope(scope, environment)
    revision = revision_get(route_id, to_revision)
    current = current_document(route_id)
    desired = desired_document(revision.document, current, scope, environment)
    changes = revision_diff(current, desired, _environment_names())
    return RollbackPreview(
        revision=revision,
        scope=scope,
        environment=environment,
        desired=desired,
        changes=changes,
        secret_changes=secret_changes(revision, desired),
        protected=protected_reached(current, desired),
        recreates=not current,
    )


def route_rollback(
    *,
    actor: Actor,
    route_id: UUID,
    to_revision: int,
    scope: str = "route",
    environment: str | None = None,
    reason: str = "",
    watched: bool = True,
) -> RollbackResult:
    """Make the route (or one environment's view of it) what it was in revision `to_revision`.

    Returns the new revision, or the latest one when the route already equals the target (then nothing is
    written or audited), with the id of the change's watch. `watched=False`: the caller (a deployment's
    rollback, which covers several routes) watches the change itself.
    """
    require_change(actor)  # a Viewer is refused before anything is looked at
    with transaction.atomic():
        with revision_scope(action="rollback", actor=actor, reason=reason, restored_from=to_revision):
            revision_capture(route_id=route_id, action="rollback", actor=actor, environment=environment or "")
            before = latest_revision(route_id)
            route = _rollback_write(actor, route_id, to_revision, scope, environment, reason)
        revision = latest_revision(route_id)
        # Inside another write's revision scope the revision is recorded when that scope ends: the outer
        # write (a promotion, an apply) is then the change to watch, not this part of it.
        recorded = route is not None and (before is None or revision.number > before.number)
        watch = None
        if recorded and watched:
            watch = _watch.rollback_done(
                RollbackDone(
                    actor=actor,
                    route_id=route_id,
                    route_name=route.name,
                    scope=scope,
                    environment=environment or "",
                    to_revision=to_revision,
                    revision=revision,
                    previous=before.number if before else None,
                    reason=reason,
                )
            )
    return RollbackResult(revision, watch)


def _rollback_write(
    actor: Actor, route_id: UUID, to_revision: int, scope: str, environment: str | None, reason: str
) -> Route | None:
    """The rollback's writes and audit entry; None when the route already equals the target."""
    # Under the route's lock from the first read: start_release takes it too, so no release can begin
    # between the release check below and the write, and no other writer can change what was compared.
    lock_route(route_id)
    preview = rollback_preview(route_id, to_revision, scope, environment)
    current = current_document(route_id)
    if document_digest(preview.desired) == document_digest(current):
        return None
    require_change(actor, protected=preview.protected, why=ROLLBACK_REACHES)
    # A running release's baseline is not the rollback's to move (release_guard).
    refuse_document_change_during_release(route_id, current, preview.desired)
    before = latest_revision(route_id)
    route = _write_document(route_id, preview.desired)
    check_secret_references(route)
    record_change(
        actor=actor,
        action="rollback",
        resource_type="route",
        resource_id=route_id,
        resource_name=route.name,
        environment=preview.environment,
        before={
            "revision": before.number if before else None,
            "digest": before.digest if before else None,
        },
        after={
            "revision": to_revision,
            "scope": scope,
            "reason": reason,
            "digest": document_digest(preview.desired),
        },
    )
    return route


def _write_document(route_id: UUID, desired: dict[str, Any]) -> Route:
    """Write base values, every override row and every client assignment to equal `desired`."""
    route = Route.objects.filter(pk=route_id).first() or Route(id=route_id, slug=desired["slug"])
    values = clean_route_values({k: desired[k] for k in OVERRIDABLE_FIELDS})
    apply_fields(route, {"name": desired["name"], "description": desired["description"], **values})
    environments = {e.name: e for e in Environment.objects.all()}
    _write_overrides(route, desired.get("overrides", {}), environments)
    _write_clients(route, desired.get("clients", {}), environments)
    return route


def _environment(environments: dict[str, Environment], name: str) -> Environment:
    if name not in environments:
        raise ValidationError(f"Environment {name} no longer exists; that revision cannot be restored.")
    return environments[name]


def _write_overrides(route: Route, wanted: dict[str, dict], environments: dict[str, Environment]) -> None:
    for override in RouteOverride.objects.filter(route=route).select_related("environment"):
        if override.environment.name not in wanted:
            override.delete()
    for name, fields in wanted.items():
        environment = _environment(environments, name)
        override = RouteOverride.objects.filter(route=route, environment=environment).first()
        override = override or RouteOverride(route=route, environment=environment)
        values = clean_route_values(dict.fromkeys(OVERRIDABLE_FIELDS) | fields)
        apply_fields(override, values, validate=lambda row: row.full_clean(validate_unique=False))


def _write_clients(route: Route, wanted: dict[str, list], environments: dict[str, Environment]) -> None:
    pairs = {(env, name) for env, names in wanted.items() for name in names}
    for assignment in RouteClient.objects.filter(route=route).select_related("environment", "client"):
        if (assignment.environment.name, assignment.client.name) not in pairs:
            assignment.delete()
    clients = {c.name: c for c in Client.objects.filter(name__in=[name for _, name in pairs])}
    for env, name in sorted(pairs):
        if name not in clients:
            raise ValidationError(f"Client {name} no longer exists; that revision cannot be restored.")
        RouteClient.objects.get_or_create(
            route=route, environment=_environment(environments, env), client=clients[name]
        )
