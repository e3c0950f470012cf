"""Writes of the deployments app: propose, tick, approve, reject, cancel and apply a promotion; roll a
deployment back. Each is one transaction with its audit entry; route changes go through routing.services."""

from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.audit import Actor, record_change
from core.permissions import ADMINISTRATOR, SYSTEM_ROLE, approved_change, require_change
from environments.models import ApiKey, Client, Environment
from routing import services as routing
from routing.models import BEHAVIOUR_FIELDS, Route
from routing.revisions import latest_revision, revision_scope
from routing.rollback import route_rollback

from . import notify
from .errors import ChecklistIncomplete, NotOpen, PlanChanged, SelfApprovalForbidden
from .models import Approval, Decision, Deployment, DeploymentKind, Promotion, PromotionStatus
from .plan import PROMOTABLE, Plan
from .selectors import WATCH_MINUTES, checklist_state, current_plan, promotion_current_plan


def _audit(actor: Actor, action: str, promotion: Promotion, **extra: Any) -> None:
    record_change(
        actor=actor,
        action=action,
        resource_type="promotion",
        resource_id=promotion.pk,
        resource_name=promotion.title,
        environment=promotion.target.name,
        after={"status": promotion.status, "plan_digest": promotion.plan_digest, **extra},
    )


def _protected(environment: Environment) -> list[str]:
    return [environment.name] if environment.is_protected else []


def _person(actor: Actor) -> str:
    """The person behind a credential: a user, or the user who created an API key (else the key itself)."""
    if actor.user is not None:
        return f"user:{actor.user.pk}"
    if actor.api_key_id:
        creator = ApiKey.objects.filter(pk=actor.api_key_id).values_list("created_by_id", flat=True).first()
        return f"user:{creator}" if creator else f"key:{actor.api_key_id}"
    return f"label:{actor.label}"


def _requester(promotion: Promotion) -> str:
    if promotion.requested_by_user_id:
        return f"user:{promotion.requested_by_user_id}"
    if promotion.requested_by_key:
        creator = ApiKey.objects.filter(pk=promotion.requested_by_key).values_list("created_by_id", flat=True)
        creator = creator.first()
        return f"user:{creator}" if creator else f"key:{promotion.requested_by_key}"
    return f"label:{promotion.requested_by_label}"


@transaction.atomic
def promotion_create(
    *,
    actor: Actor,
    source: Environment,
    target: Environment,
    title: str,
    route_ids: list[str] | None = None,
    fields: list[str] | None = None,
    auto_rollback_error_rate: float | None = None,
) -> Promotion:
    """Propose to make `target` behave like `source` for the chosen routes (default: every route that
    differs in a chosen field) and fields (default: the behaviour fields).

    Like approvals, the checklist guards protected targets (the seed's "before each production
    deployment"); a promotion into any other environment carries none."""
    require_change(actor, protected=_protected(target))
    fields = sorted(set(fields) if fields else set(BEHAVIOUR_FIELDS))
    unknown = set(fields) - PROMOTABLE
    if unknown:
        raise ValidationError({"fields": f"Unknown fields: {', '.join(sorted(unknown))}."})
    if source.pk == target.pk:
        raise ValidationError({"target": "The source and target environments must differ."})
    if route_ids is not None:
        found = {str(pk) for pk in Route.objects.filter(pk__in=route_ids).values_list("pk", flat=True)}
        route_ids = sorted(found)
    plan = current_plan(source=source, target=target, fields=fields, route_ids=route_ids)
    if not any(r.will_change for r in plan.routes):
        raise ValidationError(
            f"Nothing to promote: {target.name} already serves what {source.name} serves "
            "in the chosen fields."
        )
    promotion = Promotion.objects.create(
        title=title.strip()[:200] or f"{source.name} → {target.name}",
        source=source,
        target=target,
        route_ids=[r.route_id for r in plan.routes],
        fields=fields,
        plan=plan.as_dict(),
        plan_digest=plan.digest,
        required_approvals=target.required_approvals if target.is_protected else 0,
        checklist=list(target.checklist or []) if target.is_protected else [],
        auto_rollback_error_rate=auto_rollback_error_rate,
        requested_by_user=actor.user,
        requested_by_key=actor.api_key_id,
        requested_by_label=actor.label,
    )
    _audit(actor, "promotion.request", promotion)
    transaction.on_commit(lambda: notify.queue(promotion.pk, "requested"))
    return promotion


def _open(promotion: Promotion) -> Promotion:
    promotion = Promotion.objects.select_for_update().select_related("source", "target").get(pk=promotion.pk)
    if not promotion.is_open:
        raise NotOpen(f"This promotion is {promotion.status}; only a pending or approved one can change.")
    return promotion


@transaction.atomic
def promotion_checklist_tick(*, actor: Actor, promotion: Promotion, items: dict[str, bool]) -> Promotion:
    """Tick (or untick) the checklist items a person confirms; evidence items are checked from data."""
    require_change(actor, protected=_protected(promotion.target))
    promotion = _open(promotion)
    manual = {i["key"] for i in promotion.checklist if not i.get("evidence")}
    unknown = set(items) - manual
    if unknown:
        raise ValidationError({"items": f"Not items a person ticks here: {', '.join(sorted(unknown))}."})
    ticks = dict(promotion.ticks)
    for key, done in items.items():
        if done:
            ticks[key] = {"by": actor.label, "at": timezone.now().isoformat()}
        else:
            ticks.pop(key, None)
    promotion.ticks = ticks
    promotion.save(update_fields=["ticks"])
    _audit(actor, "promotion.checklist", promotion, items=items)
    return promotion


def _require_administrator(actor: Actor, what: str) -> None:
    if actor.role not in (ADMINISTRATOR, SYSTEM_ROLE):
        raise PermissionDenied(f"Only an Administrator can {what}.")


def _approvals_for(promotion: Promotion, digest: str) -> int:
    approvals = promotion.approvals.filter(decision=Decision.APPROVE, plan_digest=digest)
    return approvals.values("reviewer").distinct().count()


@transaction.atomic
def promotion_approve(*, actor: Actor, promotion: Promotion, comment: str = "") -> Promotion:
    """Approve the plan as it is now. Never the requester's own: not the same user, nor an API key that
    user created (nor the requesting key itself)."""
    _require_administrator(actor, "approve a promotion")
    promotion = _open(promotion)
    if _person(actor) == _requester(promotion) or (
        actor.api_key_id and str(actor.api_key_id) == str(promotion.requested_by_key)
    ):
        raise SelfApprovalForbidden(
            "A promotion needs approval from an Administrator other than its requester "
            "(their own API keys included)."
        )
    if promotion_current_plan(promotion).digest != promotion.plan_digest:
        raise PlanChanged("The environments changed since this promotion was proposed; propose it again.")
    Approval.objects.get_or_create(
        promotion=promotion,
        reviewer=_person(actor),
        plan_digest=promotion.plan_digest,
        defaults={"decision": Decision.APPROVE, "reviewer_label": actor.label, "comment": comment},
    )
    if _approvals_for(promotion, promotion.plan_digest) >= promotion.required_approvals:
        promotion.status = PromotionStatus.APPROVED
        promotion.save(update_fields=["status"])
    _audit(actor, "promotion.approve", promotion, comment=comment)
    transaction.on_commit(lambda: notify.queue(promotion.pk, "approved"))
    return promotion


@transaction.atomic
def promotion_reject(*, actor: Actor, promotion: Promotion, comment: str = "") -> Promotion:
    """Any one rejection rejects the promotion."""
    _require_administrator(actor, "reject a promotion")
    promotion = _open(promotion)
    Approval.objects.create(
        promotion=promotion,
        decision=Decision.REJECT,
        plan_digest=promotion.plan_digest,
        reviewer=f"{_person(actor)}:reject",
        reviewer_label=actor.label,
        comment=comment,
    )
    promotion.status = PromotionStatus.REJECTED
    promotion.save(update_fields=["status"])
    _audit(actor, "promotion.reject", promotion, comment=comment)
    transaction.on_commit(lambda: notify.queue(promotion.pk, "rejected"))
    return promotion


@transaction.atomic
def promotion_cancel(*, actor: Actor, promotion: Promotion) -> Promotion:
    promotion = _open(promotion)
    if _person(actor) != _requester(promotion):
        _require_administrator(actor, "cancel someone else's promotion")
    promotion.status = PromotionStatus.CANCELLED
    promotion.save(update_fields=["status"])
    _audit(actor, "promotion.cancel", promotion)
    return promotion


def _lock_plan(promotion: Promotion) -> Promotion:
    """Lock the promotion and its routes (in a fixed order), so no write slips between the digest check
    and the plan's writes."""
    promotion = _open(promotion)
    list(Route.objects.select_for_update().filter(pk__in=promotion.route_ids).order_by("pk").values("pk"))
    return promotion


def _check_ready(actor: Actor, promotion: Promotion, plan: Plan, break_glass_reason: str) -> None:
    if plan.digest != promotion.plan_digest:
        raise PlanChanged(
            "The source or target changed since this plan was approved: nothing was written. "
            "Propose the promotion again."
        )
    if break_glass_reason:
        _require_administrator(actor, "apply a promotion without its approvals (break-glass)")
        return
    approvals = _approvals_for(promotion, promotion.plan_digest)
    if approvals < promotion.required_approvals:
        from core.permissions import ApprovalRequired

        raise ApprovalRequired(
            f"{promotion.target.name} needs {promotion.required_approvals} approval(s) from another "
            f"Administrator; this promotion has {approvals}. (An Administrator may apply without them by "
            "giving a break-glass reason.)"
        )
    missing = [i["label"] for i in checklist_state(promotion) if not i["done"]]
    if missing:
        raise ChecklistIncomplete("The checklist is not complete: " + "; ".join(missing) + ".")


def _write_route(actor: Actor, route_plan: dict[str, Any], environments: dict[str, Environment]) -> None:
    """The pins first, so the base write's secret check sees the other environments as they will stay;
    then the base, then the target's own override and client assignments."""
    route = Route.objects.get(pk=route_plan["route_id"])
    writes, target = route_plan["writes"], environments[route_plan["target"]]
    for name, fields in sorted(writes["overrides"].items()):
        if name != target.name:
            routing.route_override_update(actor=actor, route=route, environment=environments[name], **fields)
    if writes["base"]:
        route = routing.route_update(actor=actor, route=route, **writes["base"])
    if target.name in writes["overrides"]:
        routing.route_override_update(
            actor=actor, route=route, environment=target, **writes["overrides"][target.name]
        )
    for client in Client.objects.filter(pk__in=writes["clients"]["assign"]):
        routing.route_client_assign(actor=actor, route=route, environment=target, client=client)
    for client in Client.objects.filter(pk__in=writes["clients"]["unassign"]):
        routing.route_client_unassign(actor=actor, route=route, environment=target, client=client)


def _revision_numbers(route_ids: list[str]) -> dict[str, int | None]:
    return {r: getattr(latest_revision(r), "number", None) for r in route_ids}


@transaction.atomic
def promotion_apply(*, actor: Actor, promotion: Promotion, break_glass_reason: str = "") -> Deployment:
    """Write every route of the plan in this one transaction (one revision each), or nothing."""
    require_change(actor, protected=_protected(promotion.target))
    break_glass_reason = (break_glass_reason or "").strip()
    promotion = _lock_plan(promotion)
    plan = promotion_current_plan(promotion)
    _check_ready(actor, promotion, plan, break_glass_reason)
    environments = {e.name: e for e in Environment.objects.all()}
    before = _revision_numbers(promotion.route_ids)
    with approved_change(), revision_scope(action="promotion", actor=actor, reason=promotion.title):
        for route_plan in plan.as_dict()["routes"]:
            _write_route(actor, {**route_plan, "target": promotion.target.name}, environments)
    now = timezone.now()
    promotion.status, promotion.applied_at, promotion.applied_by_label = (
        PromotionStatus.APPLIED,
        now,
        actor.label,
    )
    promotion.break_glass_reason = break_glass_reason
    promotion.result = {"revisions": _revision_numbers(promotion.route_ids)}
    promotion.save(update_fields=["status", "applied_at", "applied_by_label", "break_glass_reason", "result"])
    deployment = Deployment.objects.create(
        kind=DeploymentKind.PROMOTION,
        title=promotion.title,
        promotion=promotion,
        environment=promotion.target,
        route_ids=promotion.route_ids,
        revisions=promotion.result["revisions"],
        rollback_to=before,
        started_at=now,
        actor_label=actor.label,
        auto_rollback_error_rate=promotion.auto_rollback_error_rate,
    )
    action = "promotion.bypass" if break_glass_reason else "promotion.apply"
    _audit(actor, action, promotion, reason=break_glass_reason, deployment=str(deployment.pk))
    event = "applied_break_glass" if break_glass_reason else "applied"
    transaction.on_commit(lambda: notify.queue(promotion.pk, event))
    return deployment


def _audit_deployment(actor: Actor, action: str, deployment: Deployment, **after: Any) -> None:
    record_change(
        actor=actor,
        action=action,
        resource_type="deployment",
        resource_id=deployment.pk,
        resource_name=deployment.title,
        environment=deployment.environment.name if deployment.environment_id else "",
        after=after,
    )


@transaction.atomic
def deployment_rollback(
    *, actor: Actor, deployment: Deployment, reason: str, event: str = "rolled_back"
) -> Deployment:
    """Put the deployment's routes back at the revisions before it: in its environment, or whole routes
    when it changed them everywhere (a route rolled back from its History). The rollback is a deployment
    too, watched and notified with `event`."""
    deployment = (
        Deployment.objects.select_for_update(of=("self",)).select_related("environment").get(pk=deployment.pk)
    )
    require_change(actor, protected=_protected(deployment.environment) if deployment.environment else [])
    if deployment.rolled_back_at is not None:
        raise NotOpen("This deployment was already rolled back.")
    targets = {r: n for r, n in deployment.rollback_to.items() if n is not None}
    environment = deployment.environment.name if deployment.environment_id else None
    before = _revision_numbers(list(targets))
    with approved_change():
        for route_id, number in sorted(targets.items()):
            route_rollback(
                actor=actor,
                route_id=route_id,
                to_revision=number,
                scope="environment" if environment else "route",
                environment=environment,
                reason=reason or "Deployment rollback",
                watched=False,
            )
    now = timezone.now()
    rollback = Deployment.objects.create(
        kind=DeploymentKind.ROLLBACK,
        title=f"Rollback of {deployment.title}"[:200],
        promotion=deployment.promotion,
        environment=deployment.environment,
        route_ids=list(targets),
        revisions=_revision_numbers(list(targets)),
        rollback_to=before,
        reason=reason,
        started_at=now,
        actor_label=actor.label,
    )
    deployment.rolled_back_at, deployment.rolled_back_by = now, rollback
    deployment.save(update_fields=["rolled_back_at", "rolled_back_by"])
    _audit_deployment(actor, "deployment.rollback", deployment, reason=reason, rollback=str(rollback.pk))
    transaction.on_commit(lambda: notify.queue_deployment(rollback.pk, event))
    return rollback


@transaction.atomic
def deployment_watch_update(
    *, actor: Actor, deployment: Deployment, auto_rollback_error_rate: float | None
) -> Deployment:
    """Turn automatic rollback on (an error rate, 0-1) or off (None) for a deployment still watched."""
    deployment = (
        Deployment.objects.select_for_update(of=("self",)).select_related("environment").get(pk=deployment.pk)
    )
    require_change(actor, protected=_protected(deployment.environment) if deployment.environment else [])
    if deployment.rolled_back_at is not None:
        raise NotOpen("This deployment was already rolled back.")
    if timezone.now() >= deployment.started_at + timedelta(minutes=WATCH_MINUTES):
        raise NotOpen("The watch of this deployment has ended.")
    if auto_rollback_error_rate is not None and not 0 <= auto_rollback_error_rate <= 1:
        raise ValidationError({"auto_rollback_error_rate": "Give an error rate between 0 and 1."})
    before = deployment.auto_rollback_error_rate
    deployment.auto_rollback_error_rate = auto_rollback_error_rate
    deployment.save(update_fields=["auto_rollback_error_rate"])
    _audit_deployment(
        actor,
        "deployment.watch",
        deployment,
        auto_rollback_error_rate=auto_rollback_error_rate,
        before=before,
    )
    return deployment
