"""Console pages of the vault: the secret x environment matrix, one secret's page, and its writes.

Values are write-only: pages show has_value, value_version, updated_at and updated_by, never a value, and
the set-value POST is marked sensitive so error reports leave it out. Refusals and validation errors are
shown in place (403 / 400), like every other console page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from core.http.console import actor_for, call_service, may_change
from environments.models import Environment

from . import selectors, services, usage
from .forms import SecretCreateForm, SecretEditForm, SecretRenameForm, SecretValueForm
from .models import Secret

RENAMED = "Secret renamed. Routes using {{secret:OLD_NAME}} need updating; {{secret_id:…}} keeps working."


@login_required
def secret_list(request: HttpRequest) -> HttpResponse:
    environments, rows = selectors.secret_matrix()
    form = SecretCreateForm(request.POST or None)
    errors, status = [], 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        else:
            secret, errors, status = call_service(
                services.secret_create, actor=actor_for(request), **form.cleaned_data
            )
            if secret is not None:
                messages.success(request, f"Secret {secret.name} created; now set its value per environment.")
                return redirect("secrets_vault:detail", secret_id=secret.pk)
    context = {
        "environments": environments,
        "rows": rows,
        "form": form,
        "errors": errors,
        "can_create": may_change(actor_for(request)),
    }
    return render(request, "secrets_vault/list.html", context, status=status)


def _detail_context(request: HttpRequest, secret: Secret, **extra) -> dict:
    actor = actor_for(request)
    states = selectors.value_states(secret, list(Environment.objects.all()))
    protected_values = any(s.has_value and s.environment.is_protected for s in states)
    return {
        "secret": secret,
        "states": [(s, may_change(actor, protected=s.environment.is_protected)) for s in states],
        "edit_form": extra.get("edit_form")
        or SecretEditForm(
            initial={
                "secret_type": secret.secret_type,
                "description": secret.description,
                "expires_at": secret.expires_at,
                "strict_expiry": secret.strict_expiry,
            }
        ),
        "rename_form": extra.get("rename_form") or SecretRenameForm(initial={"name": secret.name}),
        "used_by": usage.routes_referencing(secret),
        "can_edit_secret": may_change(actor, protected=protected_values),
        "errors": extra.get("errors", []),
    }


def _render_detail(request: HttpRequest, secret: Secret, status: int = 200, **extra) -> HttpResponse:
    context = _detail_context(request, secret, **extra)
    return render(request, "secrets_vault/detail.html", context, status=status)


@login_required
def secret_detail(request: HttpRequest, secret_id) -> HttpResponse:
    return _render_detail(request, get_object_or_404(Secret, pk=secret_id))


def _write(request: HttpRequest, target: Secret, service, success: str, **kwargs) -> HttpResponse:
    """Run a service; on success back to the secret's page (PRG), else the page again with the reason."""
    _, errors, status = call_service(service, actor=actor_for(request), **kwargs)
    if errors:
        return _render_detail(request, target, status=status, errors=errors)
    messages.success(request, success)
    return redirect("secrets_vault:detail", secret_id=target.pk)


@sensitive_post_parameters("value")
@login_required
@require_POST
def secret_set_value(request: HttpRequest, secret_id, environment: str) -> HttpResponse:
    secret = get_object_or_404(Secret, pk=secret_id)
    env = get_object_or_404(Environment, name=environment)
    form = SecretValueForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, secret, status=400, errors=[f"Give a non-empty value for {env.name}."])
    return _write(
        request,
        secret,
        services.secret_set_value,
        f"Value of {secret.name} in {env.name} saved.",
        secret=secret,
        environment=env,
        value=form.cleaned_data["value"],
    )


@login_required
@require_POST
def secret_delete_value(request: HttpRequest, secret_id, environment: str) -> HttpResponse:
    secret = get_object_or_404(Secret, pk=secret_id)
    env = get_object_or_404(Environment, name=environment)
    return _write(
        request,
        secret,
        services.secret_delete_value,
        f"Value of {secret.name} in {env.name} deleted.",
        secret=secret,
        environment=env,
    )


@login_required
@require_POST
def secret_edit(request: HttpRequest, secret_id) -> HttpResponse:
    secret = get_object_or_404(Secret, pk=secret_id)
    form = SecretEditForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, secret, status=400, edit_form=form)
    return _write(
        request,
        secret,
        services.secret_update,
        f"Secret {secret.name} updated.",
        secret=secret,
        **form.cleaned_data,
    )


@login_required
@require_POST
def secret_rename(request: HttpRequest, secret_id) -> HttpResponse:
    secret = get_object_or_404(Secret, pk=secret_id)
    form = SecretRenameForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, secret, status=400, rename_form=form)
    return _write(request, secret, services.secret_rename, RENAMED, secret=secret, **form.cleaned_data)


@login_required
@require_POST
def secret_delete(request: HttpRequest, secret_id) -> HttpResponse:
    secret = get_object_or_404(Secret, pk=secret_id)
    name = secret.name
    _, errors, status = call_service(services.secret_delete, actor=actor_for(request), secret=secret)
    if errors:
        return _render_detail(request, secret, status=status, errors=errors)
    messages.success(request, f"Secret {name} deleted.")
    return redirect("secrets_vault:list")
