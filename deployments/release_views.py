"""The route's Releases tab: per environment, the active release (step bar with the measured share, stable
and candidate side by side with a chart each, the checks, the actions), the start form, and the history.

Served by deployments because the measured figures come from analytics; it draws routing's tab bar.
Services decide who may do what (roles as for any change to that environment); refusals show in place.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from analytics.charts import line_chart
from core.http.console import actor_for, call_service, may_change, require_editor
from environments.models import Environment
from routing import releases
from routing.models import Release, ReleaseStrategy, Route
from routing.releases import TRANSITIONS
from routing.tabs import TABS

from .release_forms import ReleaseStartForm
from .release_selectors import active_release, release_checks, release_history, release_series, release_sides

# Console actions: (service, takes a reason, label); shown only when the release's state allows them.
ACTIONS = {
    "promote": (releases.promote, False, "Promote"),
    "pause": (releases.pause, True, "Pause"),
    "resume": (releases.resume, False, "Resume"),
    "switch": (releases.switch, False, "Switch to candidate"),
    "switch_back": (releases.switch_back, True, "Switch back"),
    "finalize": (releases.finalize, False, "Finalize"),
    "abort": (releases.abort, True, "Abort"),
}
SIDE_COLORS = {"stable": "#2563eb", "candidate": "#d97706"}


def _environment(request: HttpRequest, route: Route) -> Environment:
    """?environment=…; else where a release is active; else the default environment."""
    named = request.GET.get("environment") or request.POST.get("environment")
    found = Environment.objects.filter(name=named).first() if named else None
    active = Release.objects.filter(route=route, state__in=("running", "paused", "waiting")).first()
    return (
        found
        or (active.environment if active else None)
        or Environment.objects.order_by("-is_default").first()
    )


def _actions(release: Release | None) -> list[tuple[str, str, bool]]:
    if release is None:
        return []
    blue_green = release.strategy == ReleaseStrategy.BLUE_GREEN
    shown = []
    for name, (_, takes_reason, label) in ACTIONS.items():
        if release.state not in TRANSITIONS[name] or (name in ("switch", "switch_back") and not blue_green):
            continue
        if blue_green and name == "switch" and release.weight_percent >= 100:
            continue
        if name == "switch_back" and release.weight_percent <= 0:
            continue
        shown.append((name, label, takes_reason))
    return shown


def _charts(release: Release) -> dict:
    """Calls and errors per minute, one chart per side."""
    charts = {}
    for side, series in release_series(release).items():
        lines = [
            ("calls", "Calls", SIDE_COLORS[side], [p.total for p in series.points]),
            ("errors", "Errors", "#dc2626", [p.errors for p in series.points]),
        ]
        charts[side] = line_chart(f"{side.title()}: calls per minute", series.starts, lines)
    return charts


def _page(request: HttpRequest, route: Route, environment: Environment, form=None, errors=(), status=200):
    release = active_release(route, environment)
    actor = actor_for(request)
    context = {
        "route": route,
        "tabs": TABS,
        "tab": "releases",
        "can_edit_route": may_change(actor),
        "can_change": may_change(actor, protected=environment.is_protected),
        "environment": environment,
        "environments": Environment.objects.order_by("-is_default", "name"),
        "release": release,
        "sides": release_sides(release) if release else None,
        "charts": _charts(release) if release else None,
        "checks": release_checks(release)[:50] if release else [],
        "actions": _actions(release),
        "history": release_history(route, environment)[:20],
        "form": form or ReleaseStartForm(initial={"environment": environment.name}),
        "errors": list(errors),
    }
    return render(request, "deployments/releases.html", context, status=status)


@login_required
def route_releases(request: HttpRequest, route_id) -> HttpResponse:
    """GET: the tab. POST: start a release in ?environment= from the form."""
    route = get_object_or_404(Route, pk=route_id)
    environment = _environment(request, route)
    if request.method != "POST":
        return _page(request, route, environment)
    actor = require_editor(request)
    form = ReleaseStartForm(request.POST)
    if not form.is_valid():
        return _page(request, route, environment, form, status=400)
    release, errors, status = call_service(
        releases.start_release, form=form, actor=actor, route=route, environment=environment, **form.spec()
    )
    if errors:
        return _page(request, route, environment, form, errors, status)
    messages.success(request, f"{release.get_strategy_display()} release started in {environment.name}.")
    return redirect(_tab_url(route, environment))


def _tab_url(route: Route, environment: Environment) -> str:
    return reverse("deployments:releases", args=[route.pk]) + f"?environment={environment.name}"


@login_required
@require_POST
def release_action(request: HttpRequest, pk, action: str) -> HttpResponse:
    release = get_object_or_404(Release.objects.select_related("route", "environment"), pk=pk)
    if action not in ACTIONS:
        return _page(
            request, release.route, release.environment, errors=[f"No action '{action}'."], status=404
        )
    service, takes_reason, label = ACTIONS[action]
    kwargs = {"reason": request.POST.get("reason", "").strip()} if takes_reason else {}
    _, errors, status = call_service(service, actor=actor_for(request), release=release, **kwargs)
    if errors:
        return _page(request, release.route, release.environment, errors=errors, status=status)
    messages.success(request, f"{label}: done.")
    return redirect(_tab_url(release.route, release.environment))
