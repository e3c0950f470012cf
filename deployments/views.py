"""Console pages: Promote (source → target with the plan and a proposal form), a promotion (plan grouped as
will change / expected difference / pinned, the checklist with evidence, approvals and actions), the
Approvals inbox, and a deployment's watch page with its one-click rollback.

Views stay thin: services decide who may do what; a refusal is shown in place with its status.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.http.console import actor_for, call_service, require_editor
from routing.models import BEHAVIOUR_FIELDS

from . import selectors, services
from .forms import ApplyForm, DecisionForm, PromoteForm, WatchForm
from .models import Deployment, Promotion


def _preview(form: PromoteForm):
    if not form.is_bound or not form.is_valid():
        return None
    data = form.cleaned_data
    fields = [*BEHAVIOUR_FIELDS, *data["also"]]
    return selectors.current_plan(source=data["source"], target=data["target"], fields=fields).as_dict()


@login_required
def promote(request: HttpRequest) -> HttpResponse:
    """GET: pick source and target, see the plan. POST: propose it."""
    data = request.POST if request.method == "POST" else (request.GET if "source" in request.GET else None)
    form = PromoteForm(data)
    errors, status = [], 200
    if request.method == "POST":
        actor = require_editor(request)
        if form.is_valid():
            d = form.cleaned_data
            rate = d["auto_rollback_percent"] / 100 if d["auto_rollback_percent"] is not None else None
            promotion, errors, status = call_service(
                services.promotion_create,
                actor=actor,
                source=d["source"],
                target=d["target"],
                title=d["title"],
                fields=[*BEHAVIOUR_FIELDS, *d["also"]],
                auto_rollback_error_rate=rate,
            )
            if not errors:
                messages.success(request, "Promotion proposed.")
                return redirect("deployments:promotion", promotion.pk)
        else:
            status = 400
    context = {
        "form": form,
        "plan": _preview(form),
        "errors": errors,
        "recent": selectors.promotion_list()[:20],
        "deployments": selectors.deployment_list()[:20],
    }
    return render(request, "deployments/promote.html", context, status=status)


@login_required
@require_GET
def approvals(request: HttpRequest) -> HttpResponse:
    waiting = selectors.approvals_inbox(actor_for(request))
    return render(request, "deployments/approvals.html", {"promotions": waiting})


def _detail(request: HttpRequest, promotion: Promotion, errors=(), status: int = 200) -> HttpResponse:
    plan = selectors.promotion_current_plan(promotion) if promotion.is_open else None
    context = {
        "promotion": promotion,
        "plan": promotion.plan,
        "errors": list(errors),
        "plan_current": plan is None or plan.digest == promotion.plan_digest,
        "checklist": selectors.checklist_state(promotion),
        "approvals": promotion.approvals.all(),
        "deployments": promotion.deployments.all(),
    }
    return render(request, "deployments/promotion.html", context, status=status)


@login_required
@require_GET
def promotion_detail(request: HttpRequest, pk) -> HttpResponse:
    return _detail(request, get_object_or_404(selectors.promotion_list(), pk=pk))


ACTIONS = {
    "approve": (services.promotion_approve, DecisionForm),
    "reject": (services.promotion_reject, DecisionForm),
    "apply": (services.promotion_apply, ApplyForm),
    "cancel": (services.promotion_cancel, None),
}


@login_required
@require_POST
def promotion_action(request: HttpRequest, pk, action: str) -> HttpResponse:
    promotion = get_object_or_404(selectors.promotion_list(), pk=pk)
    actor = actor_for(request)
    if action == "checklist":
        manual = [i["key"] for i in promotion.checklist if not i.get("evidence")]
        items = {key: key in request.POST.getlist("items") for key in manual}
        kwargs = {"items": items}
        service = services.promotion_checklist_tick
    elif action in ACTIONS:
        service, form_class = ACTIONS[action]
        form = form_class(request.POST) if form_class else None
        kwargs = dict(form.cleaned_data) if form is not None and form.is_valid() else {}
    else:
        raise Http404("No such action.")
    _, errors, status = call_service(service, actor=actor, promotion=promotion, **kwargs)
    if errors:
        return _detail(request, Promotion.objects.get(pk=promotion.pk), errors, status)
    messages.success(request, "Checklist saved." if action == "checklist" else f"Promotion: {action}.")
    return redirect("deployments:promotion", promotion.pk)


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:g}"


def _deployment_page(
    request: HttpRequest, deployment: Deployment, errors=(), status: int = 200
) -> HttpResponse:
    context = {
        "deployment": deployment,
        "watch": selectors.deployment_watch(deployment),
        "routes": selectors.deployment_routes(deployment),
        "auto_rollback_percent": _percent(deployment.auto_rollback_error_rate),
        "errors": list(errors),
    }
    return render(request, "deployments/deployment.html", context, status=status)


def _deployment_or_404(pk) -> Deployment:
    deployment = selectors.deployment_for_page(pk)
    if deployment is None:
        raise Http404("No such deployment.")
    return deployment


@login_required
@require_GET
def deployment_detail(request: HttpRequest, pk) -> HttpResponse:
    return _deployment_page(request, _deployment_or_404(pk))


@login_required
@require_POST
def deployment_rollback(request: HttpRequest, pk) -> HttpResponse:
    deployment = _deployment_or_404(pk)
    reason = request.POST.get("reason", "").strip() or "Rolled back from the deployment page."
    rollback, errors, status = call_service(
        services.deployment_rollback, actor=actor_for(request), deployment=deployment, reason=reason
    )
    if errors:
        return _deployment_page(request, deployment, errors, status)
    messages.success(request, "Rolled back.")
    return redirect("deployments:deployment", rollback.pk)


@login_required
@require_POST
def deployment_watch(request: HttpRequest, pk) -> HttpResponse:
    """Turn the automatic rollback on (a percentage) or off (empty)."""
    deployment = _deployment_or_404(pk)
    actor = require_editor(request)  # a Viewer is refused before the form is looked at
    form = WatchForm(request.POST)
    if not form.is_valid():
        return _deployment_page(request, deployment, [e for es in form.errors.values() for e in es], 400)
    percent = form.cleaned_data["auto_rollback_percent"]
    _, errors, status = call_service(
        services.deployment_watch_update,
        actor=actor,
        deployment=deployment,
        auto_rollback_error_rate=percent / 100 if percent is not None else None,
    )
    if errors:
        return _deployment_page(request, deployment, errors, status)
    messages.success(request, "Automatic rollback " + ("on." if percent is not None else "off."))
    return redirect("deployments:deployment", deployment.pk)
