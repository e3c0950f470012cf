"""Access helpers for proxy tests: routes require an allowed client or key, so open them up."""

from core.audit import SYSTEM
from environments.models import Client, Environment
from environments.services import client_create
from routing.models import Route
from routing.services import route_client_assign


def allow_local_callers(route: Route, environments: list[str] | None = None) -> Route:
    """Let 127.0.0.1 and ::1 call the route in the named environments (all by default)."""
    for name, ip_address in (("test-loopback-v4", "127.0.0.1"), ("test-loopback-v6", "::1")):
        client = Client.objects.filter(name=name).first() or client_create(
            actor=SYSTEM, name=name, ip_address=ip_address
        )
        chosen = (
            Environment.objects.all()
            if environments is None
            else Environment.objects.filter(name__in=environments)
        )
        for environment in chosen:
            route_client_assign(actor=SYSTEM, route=route, environment=environment, client=client)
    return route
