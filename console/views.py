"""Home, sign-in and sign-out, the audit log, and the stylesheet that carries the environment colours."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from analytics.selectors import environment_health
from core import selectors as audit_selectors
from core.filters import AuditFilterSet
from core.http.console import actor_for, call_service, require_editor
from environments import services as environment_services
from environments.models import Environment
from environments.selectors import environment_display_colors

from . import selectors
from .selectors import environment_dependents, environment_history


class ConsoleLoginView(auth_views.LoginView):
    """Django's LoginView: CSRF-protected form, and the session key is rotated on login."""

    template_name = "console/login.html"
    redirect_authenticated_user = True


class ConsoleLogoutView(auth_views.LogoutView):
    pass


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    # One grouped query over the last 5 minutes of rollups: cheap enough for every home page view.
    health = {card.environment.name: card for card in environment_health()}
    context = {
        "cards": selectors.environment_cards(),
        "totals": selectors.totals(),
        "health": health,
        "region_groups": selectors.region_groups(),
    }
    return render(request, "console/home.html", context)


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    filterset = AuditFilterSet(request.GET)
    entries = filterset.entries()
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "console/audit_log.html",
        {
            "page": page,
            "filters": filterset.values(),
            "choices": audit_selectors.audit_filter_choices(),
            "rows": [audit_selectors.audit_row(entry) for entry in page.object_list],
            "query": query.urlencode(),
        },
    )


@login_required
@require_GET
def environment_colors(request: HttpRequest) -> HttpResponse:
    """Each environment's colour as a CSS class, so templates need no inline style (strict CSP)."""
    lines = [f".env-{name}{{--env:{color}}}" for name, color in environment_display_colors().items()]
    response = HttpResponse("\n".join(lines) + "\n", content_type="text/css")
    response["Cache-Control"] = "no-cache"
    return response


@login_required
def environment_delete(request: HttpRequest, name: str) -> HttpResponse:
    environment = get_object_or_404(Environment, name=name)
    context = {
        "environment": environment,
        "dependents": environment_dependents(environment),
        "history": environment_history(environment),
        "errors": [],
    }
    if request.method != "POST":
        require_editor(request, protected=[name] if environment.is_protected else [])
        return render(request, "environments/delete.html", context)
    _, errors, status = call_service(
        environment_services.environment_delete, actor=actor_for(request), environment=environment
    )
    if errors:
        return render(request, "environments/delete.html", {**context, "errors": errors}, status=status)
    messages.success(
        request,
        f"Environment {name} deleted with its overrides, assignments and secret values; its history stays.",
    )
    return redirect("environments:list")
