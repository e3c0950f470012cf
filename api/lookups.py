"""Objects named in /v1 paths and bodies, or a 404 that says which one was not found."""

from django.http import Http404

from environments.models import Client, Environment
from environments.selectors import client_find, environment_find
from routing.models import Route
from routing.selectors import route_find


def environment_or_404(ident: str) -> Environment:
    return _found(environment_find(ident), f"No environment '{ident}'.")


def route_or_404(ident: str) -> Route:
    return _found(route_find(ident), f"No route '{ident}'.")


def client_or_404(ident: str) -> Client:
    return _found(client_find(ident), f"No client '{ident}'.")


def _found(instance, message: str):
    if instance is None:
        raise Http404(message)
    return instance
