"""Console pages for routes: list, create, edit, duplicate, disable, delete, and the route detail tabs.

Views stay thin: find the objects, ask a selector or one service, render. Services decide who may change
what; a refusal or a validation error is shown in place with its status (403, 400).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core import selectors as audit_selectors
from core.http.console import actor_for, call_service, may_change, require_editor
from environments.models import Client, Environment

from . import selectors, services
from .compare import revision_diff
from .forms import OverrideCellForm, RouteForm, TestRequestForm
from .models import OVERRIDABLE_FIELDS, Route
from .revisions import current_document
from .rollback import revision_get, rollback_preview, watch_pages
from .rollback import route_rollback as rollback_service
from .tabs import TABS
from .tester import NO_GATEWAY_URL, TestResult, bound_gateway_url, send_test_request


def _route(route_id) -> Route:
    return get_object_or_404(Route, pk=route_id)


def _route_or_deleted(route_id) -> Route | selectors.DeletedRoute:
    """History pages serve a deleted route too (from its revisions), so it can be looked at and restored."""
    route = Route.objects.filter(pk=route_id).first() or selectors.deleted_route(route_id)
    if route is None:
        raise Http404("No such route.")
    return route


def _detail(request: HttpRequest, route: Route, tab: str, template: str, context: dict, status: int = 200):
    base = {"route": route, "tabs": TABS, "tab": tab, "can_edit_route": may_change(actor_for(request))}
    return render(request, template, {**base, **context}, status=status)


@login_required
@require_GET
def route_list(request: HttpRequest) -> HttpResponse:
    filters = {
        "search": request.GET.get("q", "").strip(),
        "enabled": request.GET.get("enabled", ""),
        "overrides": request.GET.get("overrides", ""),
    }
    routes = selectors.route_list(**filters)
    template = "routing/list.html#results" if request.htmx else "routing/list.html"
    return render(
        request,
        template,
        {"routes": routes, "filters": filters, "can_create": may_change(actor_for(request))},
    )


def _route_values(form: RouteForm) -> dict:
    return {k: v for k, v in form.cleaned_data.items() if k not in ("name", "slug")}


@login_required
def route_create(request: HttpRequest) -> HttpResponse:
    actor = require_editor(request)
    form = RouteForm(request.POST or None, initial={"enabled": True, "timeout_ms": 30000})
    errors, status = [], 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        route, errors, status = call_service(
            services.route_create,
            form=form,
            actor=actor,
            name=data["name"],
            slug=data["slug"],
            **_route_values(form),
        )
        if not errors:
            created = f"Route {route.name} created; callers select it by {route.slug}."
            messages.success(request, f"{created} {selectors.disabled_notice(route)}".strip())
            return redirect("routing:detail", route.pk)
    elif form.is_bound:
        status = 400
    context = {"form": form, "errors": errors, "pinned": selectors.disabled_for_new_routes_of(actor)}
    return render(request, "routing/form.html", context, status=status)


@login_required
def route_edit(request: HttpRequest, route_id) -> HttpResponse:
    route = _route(route_id)
    actor = require_editor(request)
    initial = {
        "name": route.name,
        "slug": route.slug,
        "description": route.description,
        **selectors.base_values(route),
    }
    form = RouteForm(request.POST or None, initial=initial, editing=True)
    errors, status = [], 200
    if request.method == "POST" and form.is_valid():
        # Only changed fields go to the service: a base change reaching a protected environment needs an
        # Administrator, and a description edit should not be refused for that.
        changed = {k: form.cleaned_data[k] for k in form.changed_data if k != "slug"}
        _, errors, status = call_service(
            services.route_update, form=form, actor=actor, route=route, **changed
        )
        if not errors:
            messages.success(request, f"Route {route.name} saved.")
            return redirect("routing:detail", route.pk)
    elif form.is_bound:
        status = 400
    return render(
        request, "routing/form.html", {"form": form, "errors": errors, "route": route}, status=status
    )


def _after_refusal(request: HttpRequest, route: Route | None, errors: list[str], status: int) -> HttpResponse:
    messages.error(request, " ".join(errors))
    if route is None:
        return route_list_page(request, status)
    return _detail(request, route, "overview", "routing/overview.html", _overview_context(route), status)


def route_list_page(request: HttpRequest, status: int) -> HttpResponse:
    return render(
        request,
        "routing/list.html",
        {
            "routes": selectors.route_list(),
            "filters": {},
            "can_create": may_change(actor_for(request)),
        },
        status=status,
    )


@login_required
@require_POST
def route_duplicate(request: HttpRequest, route_id) -> HttpResponse:
    route = _route(route_id)
    copy, errors, status = call_service(services.route_duplicate, actor=actor_for(request), route=route)
    if errors:
        return _after_refusal(request, route, errors, status)
    duplicated = f"Duplicated {route.name} as {copy.name}."
    messages.success(request, f"{duplicated} {selectors.disabled_notice(copy)}".strip())
    return redirect("routing:detail", copy.pk)


@login_required
@require_POST
def route_toggle(request: HttpRequest, route_id) -> HttpResponse:
    route = _route(route_id)
    _, errors, status = call_service(
        services.route_update, actor=actor_for(request), route=route, enabled=not route.enabled
    )
    if errors:
        return _after_refusal(request, route, errors, status)
    messages.success(request, f"Route {route.name} {'disabled' if route.enabled else 'enabled'}.")
    next_url = request.POST.get("next", "")
    if not next_url.startswith("/routes/"):  # only back into the console's routes, never elsewhere
        next_url = reverse("routing:detail", args=[route.pk])
    return redirect(next_url)


@login_required
def route_delete(request: HttpRequest, route_id) -> HttpResponse:
    route = _route(route_id)
    if request.method != "POST":
        require_editor(request)
        return render(request, "routing/delete.html", {"route": route, "overrides": route.overrides.all()})
    name = route.name
    _, errors, status = call_service(services.route_delete, actor=actor_for(request), route=route)
    if errors:
        return _after_refusal(request, route, errors, status)
    messages.success(request, f"Route {name} deleted.")
    return redirect("routing:list")


@login_required
@require_GET
def route_detail(request: HttpRequest, route_id) -> HttpResponse:
    route = _route(route_id)
    return _detail(request, route, "overview", "routing/overview.html", _overview_context(route))


def _overview_context(route: Route) -> dict:
    overrides = route.overrides.select_related("environment")
    return {
        "base": selectors.base_values(route),
        "overrides": [
            {"environment": o.environment, "fields": sorted(o.overridden_values())} for o in overrides
        ],
    }


# --- Environment Overrides ------------------------------------------------------------------------------


def _editable_environments(request: HttpRequest) -> dict[str, bool]:
    actor = actor_for(request)
    return {e.name: may_change(actor, protected=e.is_protected) for e in Environment.objects.all()}


@login_required
@require_GET
def route_overrides(request: HttpRequest, route_id) -> HttpResponse:
    route = _route(route_id)
    environments = list(Environment.objects.all())
    context = {
        "environments": environments,
        "rows": selectors.override_matrix(route, _editable_environments(request)),
    }
    left, right = request.GET.get("left", ""), request.GET.get("right", "")
    if left and right:
        by_name = {e.name: e for e in environments}
        if left not in by_name or right not in by_name:
            raise Http404("No such environment.")
        context["compare"] = {
            "left": by_name[left],
            "right": by_name[right],
            "rows": selectors.compare_environments(route, by_name[left], by_name[right]),
        }
        if request.htmx:
            return render(request, "routing/overrides.html#compare", {"route": route, **context})
    return _detail(request, route, "overrides", "routing/overrides.html", context)


def _cell_target(route: Route, environment_name: str, field: str) -> tuple[Environment, str]:
    if field not in OVERRIDABLE_FIELDS:
        raise Http404("No such overridable field.")
    return get_object_or_404(Environment, name=environment_name), field


def _render_cell(request, route, environment, field, *, form=None, errors=(), status=200) -> HttpResponse:
    """The cell as a fragment (htmx) or, without JavaScript, as a page of its own."""
    can_edit = _editable_environments(request).get(environment.name, False)
    cell = selectors.override_cell(route, environment, field, can_edit)
    context = {"route": route, "cell": cell, "form": form, "errors": list(errors)}
    if request.htmx:
        partial = "cell_form" if form is not None else "cell"
        return render(request, f"routing/overrides.html#{partial}", context, status=status)
    if form is None:
        return redirect(reverse("routing:overrides", args=[route.pk]) + f"#cell-{field}-{environment.name}")
    return _detail(request, route, "overrides", "routing/override_edit.html", context, status)


@login_required
def override_cell(request: HttpRequest, route_id, environment_name: str, field: str) -> HttpResponse:
    """GET: the cell (or, with ?edit, its form). POST: set this field for this environment."""
    route = _route(route_id)
    environment, field = _cell_target(route, environment_name, field)
    prefix = f"{field}-{environment.name}"
    if request.method == "GET" and "edit" not in request.GET:
        return _render_cell(request, route, environment, field)
    if request.method == "GET":
        require_editor(request, protected=[environment.name] if environment.is_protected else [])
        current = selectors.override_cell(route, environment, field, True).value
        return _render_cell(
            request,
            route,
            environment,
            field,
            form=OverrideCellForm(field, prefix=prefix, initial={"value": current}),
        )
    form = OverrideCellForm(field, request.POST, prefix=prefix)
    if not form.is_valid():
        return _render_cell(request, route, environment, field, form=form, status=400)
    _, errors, status = call_service(
        services.route_override_update,
        actor=actor_for(request),
        route=route,
        environment=environment,
        **{field: form.cleaned_data["value"]},
    )
    if errors:
        return _render_cell(request, route, environment, field, form=form, errors=errors, status=status)
    return _render_cell(request, route, environment, field)


@login_required
@require_POST
def override_reset(request: HttpRequest, route_id, environment_name: str, field: str) -> HttpResponse:
    """Set one field of one environment back to NULL: it inherits from the base route again."""
    route = _route(route_id)
    environment, field = _cell_target(route, environment_name, field)
    _, errors, status = call_service(
        services.route_override_update,
        actor=actor_for(request),
        route=route,
        environment=environment,
        **{field: None},
    )
    if errors:
        form = OverrideCellForm(field, prefix=f"{field}-{environment.name}")
        return _render_cell(request, route, environment, field, form=form, errors=errors, status=status)
    return _render_cell(request, route, environment, field)


# --- The other tabs -------------------------------------------------------------------------------------


@login_required
def route_clients(request: HttpRequest, route_id) -> HttpResponse:
    """Environment Clients: who may call in each environment; POST assigns or unassigns one client."""
    route = _route(route_id)
    errors, status = [], 200
    if request.method == "POST":
        environment = get_object_or_404(Environment, pk=request.POST.get("environment"))
        client = get_object_or_404(Client, pk=request.POST.get("client"))
        unassign = request.POST.get("action") == "unassign"
        change = services.route_client_unassign if unassign else services.route_client_assign
        _, errors, status = call_service(
            change, actor=actor_for(request), route=route, environment=environment, client=client
        )
        if not errors:
            return redirect("routing:clients", route_id=route.pk)
    context = {
        "rows": selectors.environment_clients(route),
        "clients": Client.objects.filter(enabled=True),
        "errors": errors,
    }
    return _detail(request, route, "clients", "routing/clients.html", context, status=status)


@login_required
@require_GET
def route_secrets(request: HttpRequest, route_id) -> HttpResponse:
    route = _route(route_id)
    rows = selectors.secrets_in_use(route)
    return _detail(request, route, "secrets", "routing/secrets.html", {"rows": rows})


def _require_tester(request: HttpRequest, environment_name: str) -> None:
    """A test response can echo the secrets the gateway injected, so testing needs the right to change that
    environment: Viewers never, Developers not in protected environments."""
    environment = get_object_or_404(Environment, name=environment_name)
    try:
        require_editor(request, protected=[environment.name] if environment.is_protected else [])
    except PermissionDenied as exc:
        message = f"{exc} Test requests can reveal injected secrets, so they need that right."
        raise PermissionDenied(message) from exc


def _gateway_url(request: HttpRequest) -> str | None:
    """The gateway itself (routing/tester.py says why never the Host header)."""
    return settings.KNOXCALL_GATEWAY_URL or bound_gateway_url(getattr(request, "scope", None))


def _send_test(request: HttpRequest, route: Route, data: dict) -> TestResult:
    gateway_url = _gateway_url(request)
    if gateway_url is None:
        return TestResult.failed(NO_GATEWAY_URL)
    return send_test_request(
        gateway_url=gateway_url,
        route_slug=route.slug,
        environment=data["environment"],
        method=data["method"],
        path=data["path"],
        headers=data["headers"],
        body=data["body"],
    )


@login_required
def route_test(request: HttpRequest, route_id) -> HttpResponse:
    """Send a request through the proxy server-side; anyone who may read the route may test it."""
    route = _route(route_id)
    choices = [(e.name, e.label) for e in Environment.objects.all()]
    form = TestRequestForm(request.POST or None, environments=choices)
    result, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            _require_tester(request, data["environment"])
            result = _send_test(request, route, data)
        else:
            status = 400
    context = {"form": form, "result": result}
    if request.htmx and request.method == "POST":
        return render(request, "routing/test.html#result", {"route": route, **context}, status=status)
    return _detail(request, route, "test", "routing/test.html", context, status)


@login_required
@require_GET
def deleted_route_list(request: HttpRequest) -> HttpResponse:
    """Routes that were deleted, each with its history and a way back."""
    return render(request, "routing/deleted.html", {"routes": selectors.deleted_routes()})


@login_required
@require_GET
def route_history(request: HttpRequest, route_id) -> HttpResponse:
    """The route's revisions (each with a diff and "Roll back to this"), then its audit trail."""
    route = _route_or_deleted(route_id)
    entries = audit_selectors.audit_entries(resource_type="route", resource_id=str(route.pk))[:200]
    context = {
        "revisions": selectors.route_revisions(route.pk)[:100],
        "watch_pages": watch_pages(route.pk),
        "rows": [audit_selectors.audit_row(e) for e in entries],
    }
    return _detail(request, route, "history", "routing/history.html", context)


def _revision_or_404(route: Route, number: int):
    try:
        return revision_get(route.pk, number)
    except ObjectDoesNotExist:
        raise Http404("No such revision.") from None


@login_required
@require_GET
def route_revision(request: HttpRequest, route_id, number: int) -> HttpResponse:
    """Revision N side by side with the current route, or with revision ?against=M."""
    route = _route_or_deleted(route_id)
    revision = _revision_or_404(route, number)
    against = request.GET.get("against", "")
    other = _revision_or_404(route, int(against)) if against.isascii() and against.isdigit() else None
    after = other.document if other else current_document(route.pk)
    environments = list(Environment.objects.values_list("name", flat=True))
    context = {
        "revision": revision,
        "other": other,
        "changes": revision_diff(revision.document, after, environments),
        "before_label": f"Revision {revision.number}",
        "after_label": f"Revision {other.number}" if other else "Current",
    }
    return _detail(request, route, "history", "routing/revision.html", context)


def _rollback_choice(request: HttpRequest) -> tuple[str, str | None]:
    data = request.POST if request.method == "POST" else request.GET
    scope = data.get("scope", "route")
    return scope, (data.get("environment") or None) if scope == "environment" else None


@login_required
def route_rollback(request: HttpRequest, route_id, number: int) -> HttpResponse:
    """GET: what rolling back to revision N would change. POST: do it (the service decides who may)."""
    route = _route_or_deleted(route_id)
    actor = require_editor(request)
    _revision_or_404(route, number)
    scope, environment = _rollback_choice(request)
    errors, status = [], 200
    if request.method == "POST":
        done, errors, status = call_service(
            rollback_service,
            actor=actor,
            route_id=route.pk,
            to_revision=number,
            scope=scope,
            environment=environment,
            reason=request.POST.get("reason", "").strip(),
        )
        if not errors:
            messages.success(request, f"Rolled back to revision {number}.")
            # The change is watched like a deployment when an app watches rollbacks: show that page.
            watch = watch_pages(route.pk).get(done.revision.number)
            return redirect(watch or reverse("routing:history", kwargs={"route_id": route.pk}))
    try:
        preview = rollback_preview(route.pk, number, scope, environment)
    except (ValidationError, ObjectDoesNotExist) as exc:
        preview, errors, status = None, [*errors, *getattr(exc, "messages", [str(exc)])], 400
    context = {
        "preview": preview,
        "number": number,
        "scope": scope,
        "environment": environment or "",
        "environments": Environment.objects.all(),
        "errors": errors,
    }
    return _detail(request, route, "history", "routing/rollback.html", context, status=status)
