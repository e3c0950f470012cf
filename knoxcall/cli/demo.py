"""Demo data: three environments, a route whose environments answer from different base paths, and the
seed's alert policy (production pages, staging warns; channels disabled until configured)."""

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction

from alerts.demo import load_alert_demo
from core.audit import SYSTEM
from environments.models import Client, Environment
from environments.services import client_create, environment_create
from routing.models import Route
from routing.services import route_client_assign, route_create, route_override_update, route_update

# The demo route is callable from this machine: a client for each loopback address, in every environment.
DEMO_CLIENTS = [
    {"name": "localhost", "ip_address": "127.0.0.1", "description": "This machine (IPv4); from the demo."},
    {"name": "localhost-v6", "ip_address": "::1", "description": "This machine (IPv6); added by the demo."},
]

DEMO_ENVIRONMENTS = [
    {
        "name": "staging",
        "display_name": "Staging",
        "color": "#d97706",
        "description": "Pre-production testing and QA.",
    },
    {
        "name": "development",
        "display_name": "Development",
        "color": "#059669",
        "description": "Feature development and experimentation.",
    },
]


def configure(parser) -> None:
    pass


@transaction.atomic
def load_demo(upstream_port: int | None = None) -> bool:
    """Create what is missing; returns False when the demo route already existed.

    An existing demo route follows the demo upstream to `upstream_port` (make run takes another port when
    the usual one is busy).
    """
    upstream_port = upstream_port or settings.DEMO_UPSTREAM_PORT
    for spec in DEMO_ENVIRONMENTS:
        if not Environment.objects.filter(name=spec["name"]).exists():
            environment_create(actor=SYSTEM, **spec)
    load_alert_demo()
    route = Route.objects.filter(slug="demo").first()
    if route is not None:
        follow_demo_upstream(route, upstream_port)
        return False
    upstream = f"http://127.0.0.1:{upstream_port}"
    route = route_create(
        actor=SYSTEM,
        name="Demo",
        slug="demo",
        target_base_url=f"{upstream}/production",
        description="Echoes what it receives; each environment answers from its own base path.",
    )
    for name in ("staging", "development"):
        route_override_update(
            actor=SYSTEM,
            route=route,
            environment=Environment.objects.get(name=name),
            target_base_url=f"{upstream}/{name}",
        )
    allow_loopback_callers(route)
    return True


def _on_port(url: str | None, port: int) -> str | None:
    """The URL moved to `port` when it points at a loopback demo upstream on another port, else None."""
    parts = urlsplit(url or "")
    if parts.hostname != "127.0.0.1" or parts.port in (None, port):
        return None
    return urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))


def follow_demo_upstream(route: Route, port: int) -> None:
    """Point the demo route's loopback targets (base and overrides) at the demo upstream's port, through
    the services (audited); targets someone aimed elsewhere are left alone."""
    moved = _on_port(route.target_base_url, port)
    if moved:
        route_update(actor=SYSTEM, route=route, target_base_url=moved)
    for override in route.overrides.select_related("environment"):
        moved = _on_port(override.target_base_url, port)
        if moved:
            route_override_update(
                actor=SYSTEM, route=route, environment=override.environment, target_base_url=moved
            )


def allow_loopback_callers(route: Route) -> None:
    """Assign the loopback clients (created when missing) to the route in every environment."""
    for spec in DEMO_CLIENTS:
        client = Client.objects.filter(name=spec["name"]).first()
        client = client or client_create(actor=SYSTEM, type="user", **spec)
        for environment in Environment.objects.all():
            route_client_assign(actor=SYSTEM, route=route, environment=environment, client=client)


def handle(options: dict, out) -> None:
    out.write("Demo loaded." if load_demo() else "Demo already present; left as it is.")
