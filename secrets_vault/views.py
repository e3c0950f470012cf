"""Console pages of the vault: the secret x environment matrix, one secret's page, and its writes.

Values are write-only: pages show has_value, value_version, updated_at and updated_by, never a value, and
the set-value POST is marked sensitive so error reports leave it out.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from environments.audit import Actor
from environments.models import Environment
from knoxcall.lib.client_ip import parse_networks, resolve_client_ip

from . import selectors, services
from .forms import SecretCreateForm, SecretEditForm, SecretRenameForm, SecretValueForm
from .models import Secret


def _actor(request: HttpRequest) -> Actor:
    forwarded = [request.META["HTTP_X_FORWARDED_FOR"]] if "HTTP_X_FORWARDED_FOR" in request.META else []
    trusted = parse_networks(tuple(settings.TRUSTED_PROXIES))
    return Actor.for_user(
        request.user, resolve_client_ip(request.META.get("REMOTE_ADDR", ""), forwarded, trusted) or None
    )


def _errors(exc: ValidationError | PermissionDenied) -> list[str]:
    return exc.messages if isinstance(exc, ValidationError) else [str(exc)]


@login_required
def secret_list(request: HttpRequest) -> HttpResponse:
    environments, rows = selectors.secret_matrix()
    form = SecretCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            secret = services.secret_create(actor=_actor(request), **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            for message in _errors(exc):
                form.add_error(None, message)
        else:
            messages.success(request, f"Secret {secret.name} created; now set its value per environment.")
            return redirect("secrets_vault:detail", secret_id=secret.pk)
    context = {"environments": environments, "rows": rows, "form": form}
    return render(request, "secrets_vault/list.html", context)


def _detail_context(secret: Secret, **forms) -> dict:
    environments = list(Environment.objects.all())
    return {
        "secret": secret,
        "states": selectors.value_states(secret, environments),
        "edit_form": forms.get("edit_form")
        or SecretEditForm(
            initial={
                "description": secret.description,
                "expires_at": secret.expires_at,
                "strict_expiry": secret.strict_expiry,
            }
        ),
        "rename_form": forms.get("rename_form") or SecretRenameForm(initial={"name": secret.name}),
        "used_by": services.routes_referencing(secret),
    }


@login_required
def secret_detail(request: HttpRequest, secret_id) -> HttpResponse:
    secret = get_object_or_404(Secret, pk=secret_id)
    return render(request, "secrets_vault/detail.html", _detail_context(secret))


def _run(request: HttpRequest, action, success: str) -> bool:
    try:
        action()
    except (ValidationError, PermissionDenied) as exc:
        for message in _errors(exc):
            messages.error(request, message)
        return False
    messages.success(request, success)
    return True


@sensitive_post_parameters("value")
@login_required
@require_POST
def secret_set_value(request: HttpRequest, secret_id, environment: str) -> HttpResponse:
    secret = get_object_or_404(Secret, pk=secret_id)
    env = get_object_or_404(Environment, name=environment)
    form = SecretValueForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a non-empty value.")
    else:
        _run(
            request,
            lambda: services.secret_set_value(
                actor=_actor(request), secret=secret, environment=env, value=form.cleaned_data["value"]
            ),
            f"Value of {secret.name} in {env.name} saved.",
        )
    return redirect("secrets_vault:detail", secret_id=secret.pk)


@login_required
@require_POST
def secret_delete_value(request: HttpRequest, secret_id, environment: str) -> HttpResponse:
    secret = get_object_or_404(Secret, pk=secret_id)
    env = get_object_or_404(Environment, name=environment)
    _run(
        request,
        lambda: services.secret_delete_value(actor=_actor(request), secret=secret, environment=env),
        f"Value of {secret.name} in {env.name} deleted.",
    )
    return redirect("secrets_vault:detail", secret_id=secret.pk)


@login_required
@require_POST
def secret_edit(request: HttpRequest, secret_id) -> HttpResponse:
    secret = get_object_or_404(Secret, pk=secret_id)
    form = SecretEditForm(request.POST)
    if form.is_valid():
        _run(
            request,
            lambda: services.secret_update(actor=_actor(request), secret=secret, **form.cleaned_data),
            f"Secret {secret.name} updated.",
        )
        return redirect("secrets_vault:detail", secret_id=secret.pk)
    return render(request, "secrets_vault/detail.html", _detail_context(secret, edit_form=form), status=400)


@login_required
@require_POST
def secret_rename(request: HttpRequest, secret_id) -> HttpResponse:
    secret = get_object_or_404(Secret, pk=secret_id)
    form = SecretRenameForm(request.POST)
    if form.is_valid():
        _run(
            request,
            lambda: services.secret_rename(actor=_actor(request), secret=secret, **form.cleaned_data),
            "Secret renamed. Routes using {{secret:OLD_NAME}} need updating; {{secret_id:…}} keeps working.",
        )
        return redirect("secrets_vault:detail", secret_id=secret.pk)
    return render(request, "secrets_vault/detail.html", _detail_context(secret, rename_form=form), status=400)


@login_required
@require_POST
def secret_delete(request: HttpRequest, secret_id) -> HttpResponse:
    secret = get_object_or_404(Secret, pk=secret_id)
    if _run(
        request,
        lambda: services.secret_delete(actor=_actor(request), secret=secret),
        f"Secret {secret.name} deleted.",
    ):
        return redirect("secrets_vault:list")
    return redirect("secrets_vault:detail", secret_id=secret.pk)
