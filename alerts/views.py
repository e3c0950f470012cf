"""Console pages for alerts: rules (with a would-it-fire-now preview), channels and incidents.

Thin: access check, validate, one service or selector, render. Every list takes ?environment=<name>.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.http.console import actor_for, call_service, may_change, require_editor
from environments.models import Environment

from . import selectors, services
from .forms import AlertRuleForm, NotificationChannelForm
from .models import AlertIncident, AlertRule, NotificationChannel


def _filters(request: HttpRequest) -> dict[str, Any]:
    return {"environment": request.GET.get("environment", ""), "environments": Environment.objects.all()}


def _attempt(form: Any, service: Callable[..., Any], **kwargs: Any) -> Any:
    """Run a service write (call_service): messages about a field go next to it, the others above the form."""
    result, errors, form.service_status = call_service(service, form=form, **kwargs)
    for message in errors:
        form.add_error(None, message)
    return result


def _status(request: HttpRequest, form: Any) -> int:
    """403 for a refusal, 400 for invalid input, 200 for a page that only shows the form."""
    if request.method != "POST":
        return 200
    return 403 if getattr(form, "service_status", 400) == 403 else 400


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    rules = selectors.alert_rule_list(environment=filters["environment"])
    return render(request, "alerts/rule_list.html", {"rules": rules, **filters})


@login_required
def rule_create(request: HttpRequest) -> HttpResponse:
    require_editor(request)
    form = AlertRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        rule = _attempt(form, services.alert_rule_create, actor=actor_for(request), **fields)
        if rule:
            messages.success(request, f"Rule {rule.name} created.")
            return redirect("alerts:rule_edit", rule.pk)
    return render(
        request,
        "alerts/rule_form.html",
        {"form": form, "rule": None, "can_edit": True},
        status=_status(request, form),
    )


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk)
    if request.method == "POST":  # refuse up front (the service checks again) so bad input cannot mask it
        require_editor(request, protected=services.protected_covered(rule.environments.all()))
    form = AlertRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        saved = _attempt(form, services.alert_rule_update, actor=actor_for(request), rule=rule, **fields)
        if saved:
            messages.success(request, f"Rule {saved.name} saved.")
            return redirect("alerts:rule_edit", saved.pk)
    rule.refresh_from_db()
    preview = selectors.alert_rule_preview(rule)
    can_edit = may_change(actor_for(request), protected=services.protected_covered(rule.environments.all()))
    context = {"form": form, "rule": rule, "preview": preview, "can_edit": can_edit}
    return render(request, "alerts/rule_form.html", context, status=_status(request, form))


def _delete(
    request: HttpRequest, service: Callable[..., None], what: str, back: str, done: str, **kwargs: Any
) -> HttpResponse:
    """Run a delete service; a refusal is a 403 page with the reason, a validation error goes back."""
    _, errors, status = call_service(service, actor=actor_for(request), **kwargs)
    if status == 403:
        raise PermissionDenied(" ".join(errors))
    if errors:
        messages.error(request, " ".join(errors))
        return redirect(back)
    messages.success(request, f"{what} deleted.")
    return redirect(done)


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk)
    return _delete(
        request,
        services.alert_rule_delete,
        f"Rule {rule.name}",
        reverse("alerts:rule_edit", args=[rule.pk]),
        reverse("alerts:rule_list"),
        rule=rule,
    )


@login_required
def channel_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    channels = selectors.notification_channel_list(environment=filters["environment"])
    return render(request, "alerts/channel_list.html", {"channels": channels, **filters})


@login_required
def channel_create(request: HttpRequest) -> HttpResponse:
    require_editor(request)
    form = NotificationChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        channel = _attempt(
            form,
            services.notification_channel_create,
            actor=actor_for(request),
            name=data["name"],
            kind=data["kind"],
            enabled=data["enabled"],
            config=form.config(),
        )
        if channel:
            messages.success(request, f"Channel {channel.name} created.")
            return redirect("alerts:channel_edit", channel.pk)
    context = {"form": form, "channel": None, "can_edit": True}
    return render(request, "alerts/channel_form.html", context, status=_status(request, form))


@login_required
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=pk)
    if request.method == "POST":
        require_editor(request, protected=services.channel_protected(channel))
    form = NotificationChannelForm.for_channel(channel, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = _attempt(
            form,
            services.notification_channel_update,
            actor=actor_for(request),
            channel=channel,
            name=data["name"],
            enabled=data["enabled"],
            config=form.config(),
        )
        if saved:
            messages.success(request, f"Channel {saved.name} saved.")
            return redirect("alerts:channel_edit", saved.pk)
    attempts = selectors.channel_recent_attempts(channel)
    can_edit = may_change(actor_for(request), protected=services.channel_protected(channel))
    context = {
        "form": form,
        "channel": channel,
        "attempts": attempts,
        "can_edit": can_edit,
        "can_test": may_change(actor_for(request)),
    }
    return render(request, "alerts/channel_form.html", context, status=_status(request, form))


@login_required
@require_POST
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=pk)
    attempt = services.notification_channel_test(actor=actor_for(request), channel=channel)  # 403 if refused
    if attempt.delivered:
        messages.success(request, f"Test notification delivered to {channel.name}.")
    else:
        outcome = f"HTTP {attempt.status_code}" if attempt.status_code else attempt.error
        messages.error(request, f"Test notification to {channel.name} failed: {outcome}")
    return redirect("alerts:channel_edit", channel.pk)


@login_required
@require_POST
def channel_delete(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=pk)
    return _delete(
        request,
        services.notification_channel_delete,
        f"Channel {channel.name}",
        reverse("alerts:channel_edit", args=[channel.pk]),
        reverse("alerts:channel_list"),
        channel=channel,
    )


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    state = request.GET.get("state", "")
    incidents = selectors.alert_incident_list(environment=filters["environment"], state=state)
    context = {"incidents": incidents[:500], "state": state, **filters}
    return render(request, "alerts/incident_list.html", context)


@login_required
def incident_detail(request: HttpRequest, pk: str) -> HttpResponse:
    incident = get_object_or_404(AlertIncident.objects.select_related("rule", "environment", "route"), pk=pk)
    attempts = list(selectors.incident_attempts(incident))
    context = {"incident": incident, "attempts": attempts, "timeline": _timeline(incident, attempts)}
    return render(request, "alerts/incident_detail.html", context)


def _timeline(incident: AlertIncident, attempts: list) -> list[dict[str, Any]]:
    """Opened, each notification attempt, resolved: in time order, for the incident page."""
    events = [
        {
            "at": incident.opened_at,
            "kind": "opened",
            "text": f"Opened: observed {incident.observed_value} against {incident.threshold}",
        }
    ]
    for a in attempts:
        outcome = "delivered" if a.delivered else (f"HTTP {a.status_code}" if a.status_code else "failed")
        text = f"{a.get_event_display()} to {a.channel.name} (attempt {a.attempt}): {outcome}"
        events.append({"at": a.attempted_at, "kind": "sent" if a.delivered else "failed", "text": text})
    if incident.resolved_at:
        events.append({"at": incident.resolved_at, "kind": "resolved", "text": "Resolved"})
    return sorted(events, key=lambda e: e["at"])
