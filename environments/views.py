"""Console pages for environments: list, create, edit, delete (with what goes with it), make default."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.http.console import actor_for, call_service, may_change, require_editor

from . import lifecycle, services
from .forms import EnvironmentForm
from .models import ArchivedEnvironment, Environment


@login_required
@require_GET
def environment_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


def _list_page(request: HttpRequest, status: int = 200) -> HttpResponse:
    actor = actor_for(request)
    environments = Environment.objects.annotate(override_count=Count("route_overrides")).order_by(
        "-is_default", "name"
    )  # an aggregate query drops Meta.ordering
    rows = [
        {"environment": e, "can_change": may_change(actor, protected=e.is_protected)}
        for e in environments.select_related("parent")
    ]
    return render(
        request,
        "environments/list.html",
        {
            "rows": rows,
            "can_create": may_change(actor),
            "is_admin": may_change(actor, admin_only=True),
            "archived": ArchivedEnvironment.objects.all()[:50],
            "now": timezone.now(),
        },
        status=status,
    )


def _form_page(request: HttpRequest, form: EnvironmentForm, errors: list[str], status: int = 200):
    return render(request, "environments/form.html", {"form": form, "errors": errors}, status=status)


@login_required
def environment_create(request: HttpRequest) -> HttpResponse:
    actor = require_editor(request)
    form = EnvironmentForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return _form_page(request, form, [], 400 if form.is_bound else 200)
    values = {k: v for k, v in form.cleaned_data.items() if k != "name"}
    if values.get("ttl_hours") is None:
        values.pop("ttl_hours", None)  # expires_at (maybe empty) decides; giving both is refused
    environment, errors, status = call_service(
        services.environment_create, actor=actor, name=form.cleaned_data["name"], **values
    )
    if errors:
        return _form_page(request, form, errors, status)
    messages.success(request, f"Environment {environment.name} created.")
    return redirect("environments:list")


@login_required
def environment_edit(request: HttpRequest, name: str) -> HttpResponse:
    environment = get_object_or_404(Environment, name=name)
    actor = require_editor(request, protected=[name] if environment.is_protected else [])
    form = EnvironmentForm(request.POST or None, instance=environment)
    if request.method != "POST" or not form.is_valid():
        return _form_page(request, form, [], 400 if form.is_bound else 200)
    # Only what changed is sent, so a Developer editing a description is not refused for is_protected.
    changed = {k: form.cleaned_data[k] for k in form.changed_data if k != "name"}
    _, errors, status = call_service(
        services.environment_update,
        actor=actor,
        environment=Environment.objects.get(pk=environment.pk),
        **changed,
    )
    if errors:
        return _form_page(request, form, errors, status)
    messages.success(request, f"Environment {name} saved.")
    return redirect("environments:list")


@login_required
@require_POST
def environment_make_default(request: HttpRequest, name: str) -> HttpResponse:
    environment = get_object_or_404(Environment, name=name)
    _, errors, status = call_service(
        services.environment_make_default, actor=actor_for(request), environment=environment
    )
    if errors:
        # Answer with the refusal's status and the page, so the message shows and a script sees the 403.
        messages.error(request, " ".join(errors))
        return _list_page(request, status)
    messages.success(request, f"{name} is now the default environment.")
    return redirect("environments:list")


@login_required
@require_POST
def environment_extend(request: HttpRequest, name: str) -> HttpResponse:
    """Give a temporary environment `ttl_hours` (default 24) from now."""
    environment = get_object_or_404(Environment, name=name)
    try:
        hours = float(request.POST.get("ttl_hours") or 24)
    except ValueError:
        hours = 0.0  # the service refuses it with its message
    _, errors, status = call_service(
        lifecycle.environment_extend, actor=actor_for(request), environment=environment, ttl_hours=hours
    )
    if errors:
        messages.error(request, " ".join(errors))
        return _list_page(request, status)
    messages.success(request, f"{name} now expires in {hours:g} hours.")
    return redirect("environments:list")
