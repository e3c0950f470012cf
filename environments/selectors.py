"""Reads for the environments pages."""

from django.apps import apps

from .models import Environment


def environment_dependents(environment: Environment) -> dict[str, list[str]]:
    """What goes with an environment when it is deleted: route overrides (and clients, when they exist)."""
    overrides = environment.route_overrides.select_related("route")
    dependents = {"Route overrides": [str(o.route) for o in overrides]}
    try:
        client_model = apps.get_model("environments", "Client")
    except LookupError:
        return dependents
    if any(f.name == "environment" for f in client_model._meta.get_fields()):
        dependents["Clients"] = [str(c) for c in client_model.objects.filter(environment=environment)]
    return dependents
