"""Route revisions: one immutable, numbered document of the whole route per logical write.

Every routing service that changes what a route serves calls `revision_capture()` before it writes, inside
its transaction. Capture locks the Route row (so numbering is gap-free under concurrency, and a delete is
seen before the row goes) and registers the route with the open revision scope. The outermost scope
records one revision per touched route when it exits, still inside the transaction: a duplicate (create +
overrides), a `knoxcall apply` (base + overrides + clients) or a rollback each give one revision per route.
A write whose digest equals the last revision's records nothing.
"""

import contextvars
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db import transaction

from .document import SECRET_REFS, canonical, document_digest, revision_document
from .models import Route, RouteClient, RouteOverride, RouteRevision


@dataclass
class _Pending:
    action: str
    actor: Any
    environments: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    reason: str = ""
    restored_from: int | None = None


@dataclass
class _Scope:
    action: str = ""
    actor: Any = None
    reason: str = ""
    restored_from: int | None = None
    pending: dict[UUID, _Pending] = field(default_factory=dict)


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("revision_scope", default=None)


@contextmanager
def revision_scope(
    *, action: str = "", actor: Any = None, reason: str = "", restored_from: int | None = None
) -> Iterator[None]:
    """Collect the routes written inside and record one revision each when the outermost scope exits.

    Re-entrant: an inner scope (a service called by another service) joins the outer one. The outermost
    scope's action, actor, reason and restored_from, when given, label every revision it records. The
    outermost scope runs in a transaction (a savepoint of the caller's), so revisions commit with the writes.
    """
    if _scope.get() is not None:
        yield
        return
    scope = _Scope(action=action, actor=actor, reason=reason, restored_from=restored_from)
    token = _scope.set(scope)
    try:
        with transaction.atomic():  # the caller's transaction when there is one; never autocommit
            yield
            for route_id, pending in scope.pending.items():
                _record(route_id, pending, scope)
    finally:
        _scope.reset(token)


def revisioned(func: Callable) -> Callable:
    """A service in one transaction and one revision scope (the scope closes before the commit)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with transaction.atomic(), revision_scope():
            return func(*args, **kwargs)

    return wrapper


def lock_route(route_id: UUID) -> None:
    """Serialise writers of one route: the revision number is max + 1 under this lock."""
    list(Route.objects.select_for_update().filter(pk=route_id).values_list("pk", flat=True))


def revision_capture(
    *,
    route_id: UUID,
    action: str,
    actor: Any,
    environment: str = "",
    fields: tuple[str, ...] | list[str] = (),
    reason: str = "",
    restored_from: int | None = None,
) -> None:
    """Register a write to a route; call it before writing, inside the service's transaction.

    Without an open scope the revision is recorded at once (the caller then captures after writing).
    """
    lock_route(route_id)
    scope = _scope.get()
    pending = _Pending(action, actor, reason=reason, restored_from=restored_from)
    if scope is None:
        pending.environments, pending.fields = [environment] if environment else [], list(fields)
        _record(route_id, pending, _Scope())
        return
    pending = scope.pending.setdefault(route_id, pending)
    if environment not in pending.environments:
        pending.environments.append(environment)
    pending.fields.extend(f for f in fields if f not in pending.fields)


def routes_naming(*, environment: Any = None, client: Any = None) -> list[UUID]:
    """Routes whose document names the environment (an override or an assignment there) or the client."""
    overrides, assignments = RouteOverride.objects.none(), RouteClient.objects.none()
    if environment is not None:
        overrides = RouteOverride.objects.filter(environment=environment)
        assignments = RouteClient.objects.filter(environment=environment)
    if client is not None:
        assignments = assignments | RouteClient.objects.filter(client=client)
    ids = {*overrides.values_list("route_id", flat=True), *assignments.values_list("route_id", flat=True)}
    return sorted(ids, key=str)  # one lock order for every writer


@contextmanager
def revisions_for_routes_naming(
    *, actor: Any, action: str, environment: Any = None, client: Any = None
) -> Iterator[None]:
    """One revision for each route naming the environment or client, after the write inside (which
    deletes or renames it): installed in environments.route_revisions, used by configuration too."""
    with revision_scope(action=action, actor=actor):
        for route_id in routes_naming(environment=environment, client=client):
            name = environment.name if environment is not None else ""
            revision_capture(route_id=route_id, action=action, actor=actor, environment=name)
        yield


def current_document(route_id: UUID) -> dict:
    """The route's revision document now, or {} when it does not exist (deleted)."""
    route = Route.objects.filter(pk=route_id).first()
    return revision_document(route) if route else {}


def latest_revision(route_id: UUID) -> RouteRevision | None:
    return RouteRevision.objects.filter(route_id=route_id).order_by("-number").first()


def changed_paths(before: dict, after: dict) -> list[str]:
    """Which parts of the configuration differ: base fields by name, then overrides.ENV and clients.ENV."""
    if not before or not after:
        return ["route"] if before != after else []
    paths = [k for k in after if k not in ("overrides", "clients", SECRET_REFS) and before.get(k) != after[k]]
    for part in ("overrides", "clients"):
        envs = sorted(set(before.get(part, {})) | set(after.get(part, {})))
        paths += [f"{part}.{e}" for e in envs if before.get(part, {}).get(e) != after.get(part, {}).get(e)]
    return paths


def _record(route_id: UUID, pending: _Pending, scope: _Scope) -> RouteRevision | None:
    document = current_document(route_id)
    digest = document_digest(document)
    last = latest_revision(route_id)
    if last is not None and last.digest == digest:
        return None  # a write that changes nothing records nothing
    actor = scope.actor or pending.actor
    environments = [e for e in pending.environments if e]
    return RouteRevision.objects.create(
        route_id=route_id,
        number=(last.number + 1) if last else 1,
        document=canonical(document),
        digest=digest,
        action=scope.action or pending.action,
        environment=environments[0] if len(set(environments)) == 1 and "" not in pending.environments else "",
        fields=changed_paths(last.document if last else {}, document) or pending.fields,
        actor_label=getattr(actor, "label", "system"),
        actor_user=getattr(actor, "user", None),
        api_key_id=getattr(actor, "api_key_id", None) or "",
        reason=scope.reason or pending.reason,
        restored_from=scope.restored_from if scope.restored_from is not None else pending.restored_from,
    )
