"""Console pages for alerts: rules (with a would-it-fire-now preview), channels and incidents.

Thin: access check, validate, one service or selector, render. Every list takes ?environment=<name>.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from environments.audit import Actor
from environments.models import Environment

from . import selectors, services
from .forms import AlertRuleForm, NotificationChannelForm
from .models import AlertIncident, AlertRule, NotificationChannel


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))


def _filters(request: HttpRequest) -> dict[str, Any]:
    return {"environment": request.GET.get("environment", ""), "environments": Environment.objects.all()}


def _attempt(form: Any, write: Callable[[], Any]) -> Any:
    """Run a service write; turn refusals and validation errors into form errors instead of a 500."""
    try:
        return write()
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or "You may not make this change.")
    except ValidationError as exc:
        for message in exc.messages:
            form.add_error(None, message)
    return None


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    rules = selectors.alert_rule_list(environment=filters["environment"])
    return render(request, "alerts/rule_list.html", {"rules": rules, **filters})


@login_required
def rule_create(request: HttpRequest) -> HttpResponse:
    form = AlertRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        rule = _attempt(form, lambda: services.alert_rule_create(actor=_actor(request), **fields))
        if rule:
            messages.success(request, f"Rule {rule.name} created.")
            return redirect("alerts:rule_edit", rule.pk)
    return render(request, "alerts/rule_form.html", {"form": form, "rule": None})


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk)
    form = AlertRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        saved = _attempt(form, lambda: services.alert_rule_update(actor=_actor(request), rule=rule, **fields))
        if saved:
            messages.success(request, f"Rule {saved.name} saved.")
            return redirect("alerts:rule_edit", saved.pk)
    rule.refresh_from_db()
    preview = selectors.alert_rule_preview(rule)
    return render(request, "alerts/rule_form.html", {"form": form, "rule": rule, "preview": preview})


def _delete(request: HttpRequest, write: Callable[[], None], what: str, back: str, done: str) -> HttpResponse:
    """Run a delete service; on refusal go back to the object's page with the reason."""
    try:
        write()
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect(back)
    messages.success(request, f"{what} deleted.")
    return redirect(done)


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk)
    return _delete(
        request, lambda: services.alert_rule_delete(actor=_actor(request), rule=rule), f"Rule {rule.name}",
        reverse("alerts:rule_edit", args=[rule.pk]), reverse("alerts:rule_list"),
    )


@login_required
def channel_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    channels = selectors.notification_channel_list(environment=filters["environment"])
    return render(request, "alerts/channel_list.html", {"channels": channels, **filters})


@login_required
def channel_create(request: HttpRequest) -> HttpResponse:
    form = NotificationChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        channel = _attempt(form, lambda: services.notification_channel_create(
            actor=_actor(request), name=data["name"], kind=data["kind"], enabled=data["enabled"],
            config=form.config(),
        ))
        if channel:
            messages.success(request, f"Channel {channel.name} created.")
            return redirect("alerts:channel_edit", channel.pk)
    return render(request, "alerts/channel_form.html", {"form": form, "channel": None})


@login_required
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=pk)
    form = NotificationChannelForm.for_channel(channel, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = _attempt(form, lambda: services.notification_channel_update(
            actor=_actor(request), channel=channel, name=data["name"], enabled=data["enabled"],
            config=form.config(),
        ))
        if saved:
            messages.success(request, f"Channel {saved.name} saved.")
            return redirect("alerts:channel_edit", saved.pk)
    attempts = selectors.channel_recent_attempts(channel)
    context = {"form": form, "channel": channel, "attempts": attempts}
    return render(request, "alerts/channel_form.html", context)


@login_required
@require_POST
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=pk)
    try:
        attempt = services.notification_channel_test(actor=_actor(request), channel=channel)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
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
        request, lambda: services.notification_channel_delete(actor=_actor(request), channel=channel),
        f"Channel {channel.name}", reverse("alerts:channel_edit", args=[channel.pk]),
        reverse("alerts:channel_list"),
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
    attempts = selectors.incident_attempts(incident)
    return render(request, "alerts/incident_detail.html", {"incident": incident, "attempts": attempts})
