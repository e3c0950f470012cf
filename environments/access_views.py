"""Console pages for clients and API keys: thin views over the services.

Refusals (403) and validation errors (400) re-render the page with the reason in place; API keys are an
Administrator's business, so others see the list but no form, and a crafted POST is refused by the service.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.http.console import actor_for, call_service, may_change
from core.permissions import ROLES

from .models import ApiKey, Client
from .selectors import api_key_list, client_list
from .services import api_key_create, api_key_revoke, client_create, client_delete, client_update

CLIENT_FORM_FIELDS = ("name", "type", "ip_address", "description")


def _client_values(request: HttpRequest) -> dict:
    values = {name: request.POST.get(name, "").strip() for name in CLIENT_FORM_FIELDS}
    values["enabled"] = request.POST.get("enabled") == "on"
    return values


@login_required
def clients(request: HttpRequest) -> HttpResponse:
    errors, status, values = [], 200, {"type": Client.SERVER, "enabled": True}
    if request.method == "POST":
        values = _client_values(request)
        created, errors, status = call_service(client_create, actor=actor_for(request), **values)
        if created is not None:
            messages.success(request, f"Client {created.name} added.")
            return redirect("environments:clients")
    context = {
        "clients": client_list().prefetch_related("assignments__environment", "assignments__route"),
        "values": values,
        "errors": errors,
        "types": Client.TYPES,
        "can_create": may_change(actor_for(request)),
    }
    return render(request, "environments/clients.html", context, status=status)


@login_required
def client_edit(request: HttpRequest, client_id) -> HttpResponse:
    client = get_object_or_404(Client, pk=client_id)
    errors, status = [], 200
    if request.method == "POST":
        deleting = bool(request.POST.get("delete"))
        if deleting:
            _, errors, status = call_service(client_delete, actor=actor_for(request), client=client)
        else:
            _, errors, status = call_service(
                client_update, actor=actor_for(request), client=client, **_client_values(request)
            )
        if not errors:
            messages.success(request, f"Client {client.name} {'deleted' if deleting else 'saved'}.")
            return redirect("environments:clients")
        client.refresh_from_db()
    context = {
        "client": client,
        "errors": errors,
        "types": Client.TYPES,
        "can_edit": may_change(actor_for(request)),
    }
    return render(request, "environments/client_edit.html", context, status=status)


def _create_api_key(request: HttpRequest) -> tuple[str | None, list[str], int]:
    try:
        expires_at = forms.DateTimeField(required=False).clean(request.POST.get("expires_at", ""))
    except ValidationError as exc:
        return None, [f"Expires at: {message}" for message in exc.messages], 400
    created, errors, status = call_service(
        api_key_create,
        actor=actor_for(request),
        name=request.POST.get("name", ""),
        role=request.POST.get("role", ""),
        may_invoke=request.POST.get("may_invoke") == "on",
        live=request.POST.get("live") == "on",
        expires_at=expires_at,
    )
    return (created[1] if created is not None else None), errors, status


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    errors, status, raw_key = [], 200, None
    if request.method == "POST":
        raw_key, errors, status = _create_api_key(request)
    context = {
        "api_keys": api_key_list(),
        "raw_key": raw_key,
        "errors": errors,
        "roles": ROLES,
        "is_admin": may_change(actor_for(request), admin_only=True),
    }
    return render(request, "environments/api_keys.html", context, status=status)


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, pk=key_id)
    _, errors, status = call_service(api_key_revoke, actor=actor_for(request), api_key=api_key)
    if errors:
        context = {
            "api_keys": api_key_list(),
            "raw_key": None,
            "errors": errors,
            "roles": ROLES,
            "is_admin": may_change(actor_for(request), admin_only=True),
        }
        return render(request, "environments/api_keys.html", context, status=status)
    messages.success(request, f"API key {api_key.name} revoked.")
    return redirect("environments:api_keys")
