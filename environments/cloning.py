"""Copying a parent environment's configuration into a new (feature) environment.

What there is to copy, the route overrides and client assignments, belongs to routing, which sits above this
app: routing installs its copier here at start-up (RoutingConfig.ready), and environment_create calls it
inside its transaction.
"""

from collections.abc import Callable

from core.audit import Actor

from .models import Environment

Copier = Callable[[Actor, Environment, Environment], None]
_copiers: list[Copier] = []


def install(copier: Copier) -> None:
    if copier not in _copiers:
        _copiers.append(copier)


def copy_configuration(actor: Actor, parent: Environment, child: Environment) -> None:
    for copier in _copiers:
        copier(actor, parent, child)
