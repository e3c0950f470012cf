"""Reads of the deployments app: route documents for the plan, the plan now, checklist evidence, the
approvals inbox and the deployment watch."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils import timezone

from alerts.models import AlertRule
from alerts.selectors import notification_channel_list
from analytics.health import HEALTHY, health_verdict
from analytics.models import RequestLog
from analytics.rollup import NOT_GATEWAY_ERRORS
from analytics.selectors import Metrics, metric_buckets_for_window, thresholds_for, window_metrics
from core.audit import Actor
from core.permissions import may_change_protected, require_change
from environments.models import Environment
from routing.models import Route, RouteClient, RouteOverride
from routing.selectors import base_values
from routing.services import protected_holding

from .models import OPEN_STATUSES, Deployment, Promotion
from .plan import Plan, promotion_plan

WATCH_MINUTES = 30
FIRST_REQUESTS = 100
# "All tests passing in staging": the source served at least this many calls in the last hour, healthy.
SOURCE_MIN_CALLS = 20


def route_documents(route_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Each route as plain values (deployments.plan): base, sparse overrides and clients by environment."""
    routes = Route.objects.all() if route_ids is None else Route.objects.filter(pk__in=route_ids)
    docs = {
        str(r.pk): {
            "id": str(r.pk),
            "slug": r.slug,
            "name": r.name,
            "base": base_values(r),
            "overrides": {},
            "clients": {},
        }
        for r in routes
    }
    for override in RouteOverride.objects.filter(route_id__in=list(docs)).select_related("environment"):
        docs[str(override.route_id)]["overrides"][override.environment.name] = override.overridden_values()
    assignments = RouteClient.objects.filter(route_id__in=list(docs)).select_related("environment")
    for assignment in assignments:
        clients = docs[str(assignment.route_id)]["clients"].setdefault(assignment.environment.name, [])
        clients.append(str(assignment.client_id))
    return list(docs.values())


def current_plan(
    *,
    source: Environment,
    target: Environment,
    fields: list[str] | tuple[str, ...],
    route_ids: list[str] | None = None,
) -> Plan:
    environments = list(Environment.objects.values_list("name", flat=True))
    default = Environment.objects.filter(is_default=True).values_list("name", flat=True).first() or ""
    return promotion_plan(
        route_documents(route_ids),
        source=source.name,
        target=target.name,
        default=default,
        environments=environments,
        fields=fields,
        route_ids=route_ids,
    )


def promotion_current_plan(promotion: Promotion) -> Plan:
    """The promotion's plan recomputed from today's configuration (its digest tells whether it moved)."""
    return current_plan(
        source=promotion.source,
        target=promotion.target,
        fields=promotion.fields,
        route_ids=promotion.route_ids,
    )


def promotion_list(*, status: str = "") -> QuerySet[Promotion]:
    promotions = Promotion.objects.select_related("source", "target")
    return promotions.filter(status=status) if status else promotions


def approvals_inbox(actor) -> QuerySet[Promotion]:
    """Open promotions waiting for approvals, leaving out the ones this actor requested."""
    promotions = promotion_list().filter(status__in=OPEN_STATUSES, required_approvals__gt=0)
    if actor.user is not None:
        promotions = promotions.exclude(requested_by_user=actor.user)
    return promotions


# --- Checklist evidence -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    ok: bool
    summary: str


def source_healthy(promotion: Promotion, now: datetime) -> Evidence:
    name = promotion.source.name
    metrics = window_metrics(
        environments=[name], route_ids=promotion.route_ids or None, since=now - timedelta(hours=1), until=now
    )[name]
    verdict, reasons = health_verdict(metrics, thresholds_for(name))
    ok = metrics.total >= SOURCE_MIN_CALLS and verdict == HEALTHY
    return Evidence(
        ok,
        f"{name} served {metrics.total} calls in the last hour (at least {SOURCE_MIN_CALLS} "
        f"needed): {verdict}; {'; '.join(reasons)}",
    )


def monitoring_ready(promotion: Promotion, now: datetime) -> Evidence:
    target = promotion.target
    rules = (
        AlertRule.objects.filter(enabled=True)
        .filter(Q(environments=target) | Q(environments__isnull=True))
        .filter(Q(route__isnull=True) | Q(route_id__in=promotion.route_ids))
        .distinct()
    )
    names = sorted(rules.values_list("name", flat=True))
    if names:
        return Evidence(True, f"Enabled alert rules cover {target.name}: {', '.join(names)}.")
    return Evidence(False, f"No enabled alert rule covers {target.name}.")


def rollback_ready(promotion: Promotion, now: datetime) -> Evidence:
    from routing.revisions import latest_revision

    missing = [r for r in promotion.route_ids if latest_revision(r) is None]
    if missing:
        return Evidence(False, f"{len(missing)} route(s) have no revision to roll back to.")
    return Evidence(
        True, f"Every route of the plan has a revision to roll back to ({len(promotion.route_ids)})."
    )


def team_notified(promotion: Promotion, now: datetime) -> Evidence:
    channels = deployment_channels(promotion.target)
    if channels:
        return Evidence(True, "Deployment events go to " + ", ".join(c.name for c in channels) + ".")
    return Evidence(
        False, f"No enabled notification channel is attached to a rule covering {promotion.target}."
    )


def deployment_channels(environment: Environment | None) -> list:
    """Where an environment's deployment events go: the enabled channels of its enabled alert rules (of
    every environment's rules when a change reached them all, None)."""
    channels = notification_channel_list(environment=environment.name if environment else None)
    return list(channels.filter(enabled=True, rules__enabled=True).distinct())


EVIDENCE = {
    "source_healthy": source_healthy,
    "monitoring_ready": monitoring_ready,
    "rollback_ready": rollback_ready,
    "team_notified": team_notified,
}


def checklist_state(promotion: Promotion, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each checklist item with its state: evidence items checked from data now, the others by a tick."""
    now = now or timezone.now()
    items = []
    for item in promotion.checklist:
        entry = {"key": item["key"], "label": item["label"], "evidence": item.get("evidence", "")}
        check = EVIDENCE.get(entry["evidence"])
        if check is not None:
            found = check(promotion, now)
            entry |= {"done": found.ok, "detail": found.summary, "by": "", "at": None}
        else:
            tick = promotion.ticks.get(item["key"])
            entry |= {
                "done": bool(tick),
                "detail": "",
                "by": (tick or {}).get("by", ""),
                "at": (tick or {}).get("at"),
            }
        items.append(entry)
    return items


# --- After deployment -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Watch:
    before: Metrics
    after: Metrics
    until: datetime  # the end of the "since the change" figures: now, or the end of the watch
    ends: datetime
    watching: bool
    first_requests: list[RequestLog]


def _watched_metrics(deployment: Deployment, since: datetime, until: datetime) -> Metrics:
    """The deployment's routes in its environment (in every environment for a whole route) over a window."""
    environments = [deployment.environment.name] if deployment.environment_id else None
    metrics = Metrics()
    buckets = metric_buckets_for_window(
        environments=environments, route_ids=deployment.route_ids or None, since=since, until=until
    )
    for bucket in buckets:
        metrics.add(bucket)
    return metrics


def _logs_since_change(deployment: Deployment) -> QuerySet[RequestLog]:
    logs = RequestLog.objects.filter(timestamp__gte=deployment.started_at)
    if deployment.environment_id:
        logs = logs.filter(environment=deployment.environment.name)
    if deployment.route_ids:
        logs = logs.filter(route_id__in=deployment.route_ids)
    return logs


def deployment_watch(deployment: Deployment, now: datetime | None = None) -> Watch:
    """The target's figures in the WATCH_MINUTES after the change against the hour before it."""
    now = now or timezone.now()
    start = deployment.started_at
    ends = start + timedelta(minutes=WATCH_MINUTES)
    until = min(now, ends)
    before = _watched_metrics(deployment, start - timedelta(hours=1), start)
    after = _watched_metrics(deployment, start, until)
    first = list(_logs_since_change(deployment).order_by("timestamp", "id")[:FIRST_REQUESTS])
    return Watch(before, after, until, ends, now < ends, first)


def calls_since_change(deployment: Deployment, until: datetime) -> tuple[int, int]:
    """(errors, calls) of the deployment's routes in its environment since the change, counted from the
    request log itself (errors as analytics counts them: 5xx or failed by the gateway). The log, not the
    buckets: the automatic rollback then never reads a minute the rollup has not written yet."""
    logs = _logs_since_change(deployment).filter(timestamp__lt=until)
    errors = logs.filter(Q(status__gte=500) | ~Q(error_code__in=NOT_GATEWAY_ERRORS))
    return errors.count(), logs.count()


def deployment_list() -> QuerySet[Deployment]:
    """Promotions applied and rollbacks, newest first."""
    return Deployment.objects.select_related("environment")


def deployments_visible_to(actor: Actor) -> QuerySet[Deployment]:
    """The deployments an actor may see (the management API's rule; the console pages show every one).

    How a protected environment fares after a change is as much its own as what it serves, so only those
    who may change protected environments (core.permissions) see a deployment into one. A whole-route
    rollback (environment None) is watched in every environment at once; the console has no rule of its
    own for it, so it is shown only to those allowed to change every environment of its routes: Viewers
    never, a Developer when no protected environment holds anything of them (routing.services), nobody
    but an Administrator when one of them is deleted (what it held then is not known now)."""
    deployments = deployment_list()
    if may_change_protected(actor):
        return deployments
    whole_route = list(deployments.filter(environment__isnull=True).values_list("pk", "route_ids"))
    route_ids = {route_id for _, ids in whole_route for route_id in ids}
    changeable = {
        str(route.pk)
        for route in Route.objects.filter(pk__in=route_ids)
        if _may_change(actor, protected_holding(route))
    }
    hidden = [pk for pk, ids in whole_route if not set(ids) <= changeable]
    return deployments.exclude(environment__is_protected=True).exclude(pk__in=hidden)


def _may_change(actor: Actor, protected: list[str]) -> bool:
    try:
        require_change(actor, protected=protected)
    except PermissionDenied:
        return False
    return True


# What the management API calls a deployment's state: rolled back, or in or past its watch.
DEPLOYMENT_STATUSES = ("watching", "watch_ended", "rolled_back")


def deployment_status(deployment: Deployment, now: datetime | None = None) -> str:
    if deployment.rolled_back_at is not None:
        return "rolled_back"
    now = now or timezone.now()
    return "watching" if now < deployment.started_at + timedelta(minutes=WATCH_MINUTES) else "watch_ended"


def deployments_in_status(
    deployments: QuerySet[Deployment], status: str, now: datetime | None = None
) -> QuerySet[Deployment]:
    """The deployments whose deployment_status is `status`."""
    if status == "rolled_back":
        return deployments.filter(rolled_back_at__isnull=False)
    watch_began = (now or timezone.now()) - timedelta(minutes=WATCH_MINUTES)
    standing = deployments.filter(rolled_back_at__isnull=True)
    if status == "watching":
        return standing.filter(started_at__gt=watch_began)
    return standing.filter(started_at__lte=watch_began)


def deployment_for_page(pk) -> Deployment | None:
    return (
        Deployment.objects.select_related("promotion", "environment", "rolled_back_by").filter(pk=pk).first()
    )


def deployment_routes(deployment: Deployment) -> list[dict[str, str]]:
    """The deployment's routes by name (a deleted one by the name its last revision knew)."""
    names = dict(Route.objects.filter(pk__in=deployment.route_ids).values_list("pk", "name"))
    names = {str(pk): name for pk, name in names.items()}
    return [{"id": r, "name": names.get(r, r)} for r in deployment.route_ids]


def deployments_by_revision(route_id) -> dict[int, Deployment]:
    """Revision number → the deployment that wrote it, for one route's History."""
    key = str(route_id)
    deployments = Deployment.objects.filter(revisions__has_key=key).only("pk", "revisions")
    return {d.revisions[key]: d for d in deployments}


def deployments_watching(now: datetime | None = None) -> QuerySet[Deployment]:
    """Deployments still in their watch window, not rolled back, with automatic rollback on."""
    now = now or timezone.now()
    return Deployment.objects.filter(
        started_at__gte=now - timedelta(minutes=WATCH_MINUTES),
        rolled_back_at__isnull=True,
        auto_rollback_error_rate__isnull=False,
    ).select_related("environment", "promotion")
