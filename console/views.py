"""Home, sign-in and sign-out, the audit log, and the stylesheet that carries the environment colours."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from analytics.selectors import environment_health
from environments.models import Environment

from . import selectors


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
    return render(request, "console/home.html", {"cards": selectors.environment_cards(),
                                                 "totals": selectors.totals(), "health": health,
                                                 "region_groups": selectors.region_groups()})


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    filters = selectors.audit_filters_from(request.GET)
    entries = selectors.audit_entries(**filters)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "console/audit_log.html", {
        "page": page, "filters": filters, "choices": selectors.audit_filter_choices(),
        "rows": [selectors.audit_row(entry) for entry in page.object_list],
        "query": query.urlencode(),
    })


@login_required
@require_GET
def environment_colors(request: HttpRequest) -> HttpResponse:
    """Each environment's colour as a CSS class, so templates need no inline style (strict CSP)."""
    lines = [
        f".env-{e.name}{{--env:{e.color}}}" for e in Environment.objects.only("name", "color")
    ]
    response = HttpResponse("\n".join(lines) + "\n", content_type="text/css")
    response["Cache-Control"] = "no-cache"
    return response
