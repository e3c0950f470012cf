"""The console's access helpers: who is acting, and turning a service's refusal into a clear answer.

Services decide (core.permissions.require_change); the console only asks them, so a crafted POST is
refused exactly like a button click, and shows the same message.
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import HttpRequest

from core.audit import Actor
from core.permissions import ADMINISTRATOR, DEVELOPER, require_change
from knoxcall.lib.client_ip import client_ip_of_request


def actor_for(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user, client_ip_of_request(request) or None)


def may_change(actor: Actor, *, protected: bool = False, admin_only: bool = False) -> bool:
    """Whether to show edit controls; the service still decides when the change is made."""
    if actor.role == ADMINISTRATOR:
        return True
    return actor.role == DEVELOPER and not protected and not admin_only


def require_editor(request: HttpRequest, **kwargs: Any) -> Actor:
    """For pages that only show a form: refuse Viewers (and others the service would refuse) up front."""
    actor = actor_for(request)
    require_change(actor, **kwargs)
    return actor


def error_messages(exc: ValidationError | PermissionDenied) -> list[str]:
    if isinstance(exc, PermissionDenied):
        return [str(exc) or "You are not allowed to make this change."]
    if hasattr(exc, "error_dict"):
        return [
            f"{'' if field == '__all__' else field + ': '}{message}"
            for field, errors in exc.message_dict.items()
            for message in errors
        ]
    return list(exc.messages)


def errors_into_form(form: Form, exc: ValidationError) -> list[str]:
    """Put each message about one of the form's fields next to that field; return the others (or, when
    every message found its field, a pointer to them, so the page still shows that nothing was saved)."""
    if not hasattr(exc, "error_dict"):
        return list(exc.messages)
    others = []
    for field, messages in exc.message_dict.items():
        if field in form.fields and not form.fields[field].disabled:
            for message in messages:
                form.add_error(field, message)
        else:
            others += [f"{'' if field == '__all__' else field + ': '}{message}" for message in messages]
    return others or ["Nothing was saved: correct the fields marked below."]


def call_service(
    service: Callable[..., Any], *, form: Form | None = None, **kwargs: Any
) -> tuple[Any, list[str], int]:
    """Run a service; return (result, error messages, HTTP status) so a view can re-render in place.

    With `form`, validation messages about its fields are shown at those fields (errors_into_form). A
    refusal that names its own status (`api_status`, as the /v1 error handler reads it: a conflict is 409)
    keeps that status here too.
    """
    try:
        return service(**kwargs), [], 200
    except PermissionDenied as exc:
        return None, error_messages(exc), getattr(exc, "api_status", 403)
    except ValidationError as exc:
        return None, errors_into_form(form, exc) if form is not None else error_messages(exc), 400
    except Exception as exc:
        if not getattr(exc, "api_status", None):
            raise
        return None, [str(exc)], exc.api_status
