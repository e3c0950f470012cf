"""Console pages for clients and API keys: thin views over the services (plain markup; issue 5 styles it)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from console.access import actor_for

from .models import ApiKey, Client
from .permissions import ROLES
from .selectors import api_key_list, client_list
from .services import api_key_create, api_key_revoke, client_create, client_delete, client_update

CLIENT_FORM_FIELDS = ("name", "type", "ip_address", "description")


def _client_values(request: HttpRequest) -> dict:
    values = {name: request.POST.get(name, "").strip() for name in CLIENT_FORM_FIELDS}
    values["enabled"] = request.POST.get("enabled") == "on"
    return values


def _errors(exc: Exception) -> list[str]:
    return exc.messages if isinstance(exc, ValidationError) else [str(exc)]


@login_required
def clients(request: HttpRequest) -> HttpResponse:
    errors, values = [], {"type": Client.SERVER, "enabled": True}
    if request.method == "POST":
        values = _client_values(request)
        try:
            client_create(actor=actor_for(request), **values)
            messages.success(request, f"Client {values['name']} added.")
            return redirect("environments:clients")
        except (ValidationError, PermissionDenied) as exc:
            errors = _errors(exc)
    context = {"clients": client_list(), "values": values, "errors": errors, "types": Client.TYPES}
    return render(request, "environments/clients.html", context)


@login_required
def client_edit(request: HttpRequest, client_id) -> HttpResponse:
    client = get_object_or_404(Client, pk=client_id)
    errors = []
    if request.method == "POST":
        try:
            if request.POST.get("delete"):
                client_delete(actor=actor_for(request), client=client)
                messages.success(request, f"Client {client.name} deleted.")
            else:
                client_update(actor=actor_for(request), client=client, **_client_values(request))
                messages.success(request, f"Client {client.name} saved.")
            return redirect("environments:clients")
        except (ValidationError, PermissionDenied) as exc:
            errors = _errors(exc)
    context = {"client": client, "errors": errors, "types": Client.TYPES}
    return render(request, "environments/client_edit.html", context)


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    errors, raw_key = [], None
    if request.method == "POST":
        try:
            _, raw_key = api_key_create(
                actor=actor_for(request),
                name=request.POST.get("name", ""),
                role=request.POST.get("role", ""),
                may_invoke=request.POST.get("may_invoke") == "on", live=request.POST.get("live") == "on",
            )
        except (ValidationError, PermissionDenied) as exc:
            errors = _errors(exc)
    context = {"api_keys": api_key_list(), "raw_key": raw_key, "errors": errors, "roles": ROLES}
    return render(request, "environments/api_keys.html", context)


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, pk=key_id)
    try:
        api_key_revoke(actor=actor_for(request), api_key=api_key)
        messages.success(request, f"API key {api_key.name} revoked.")
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    return redirect("environments:api_keys")
