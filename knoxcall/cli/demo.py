"""Demo data: three environments, a route whose environments answer from different base paths, and the
seed's alert policy (production pages, staging warns; channels disabled until configured)."""

from django.conf import settings
from django.db import transaction

from alerts.demo import load_alert_demo
from environments.audit import SYSTEM
from environments.models import Client, Environment
from environments.services import client_create, environment_create
from routing.models import Route
from routing.services import route_client_assign, route_create, route_override_update

# The demo route is callable from this machine: a client for each loopback address, in every environment.
DEMO_CLIENTS = [
    {"name": "localhost", "ip_address": "127.0.0.1", "description": "This machine (IPv4); from the demo."},
    {"name": "localhost-v6", "ip_address": "::1", "description": "This machine (IPv6); added by the demo."},
]

DEMO_ENVIRONMENTS = [
    {"name": "staging", "display_name": "Staging", "color": "#d97706",
     "description": "Pre-production testing and QA."},
    {"name": "development", "display_name": "Development", "color": "#059669",
     "description": "Feature development and experimentation."},
]


def configure(parser) -> None:
    pass


@transaction.atomic
def load_demo() -> bool:
    """Create what is missing; returns False when the demo route already existed."""
    for spec in DEMO_ENVIRONMENTS:
        if not Environment.objects.filter(name=spec["name"]).exists():
            environment_create(actor=SYSTEM, **spec)
    load_alert_demo()
    if Route.objects.filter(slug="demo").exists():
        return False
    upstream = f"http://127.0.0.1:{settings.DEMO_UPSTREAM_PORT}"
    route = route_create(
        actor=SYSTEM, name="Demo", slug="demo", target_base_url=f"{upstream}/production",
        description="Echoes what it receives; each environment answers from its own base path.",
    )
    for name in ("staging", "development"):
        route_override_update(
            actor=SYSTEM, route=route, environment=Environment.objects.get(name=name),
            target_base_url=f"{upstream}/{name}",
        )
    allow_loopback_callers(route)
    return True


def allow_loopback_callers(route: Route) -> None:
    """Assign the loopback clients (created when missing) to the route in every environment."""
    for spec in DEMO_CLIENTS:
        client = Client.objects.filter(name=spec["name"]).first()
        client = client or client_create(actor=SYSTEM, type="user", **spec)
        for environment in Environment.objects.all():
            route_client_assign(actor=SYSTEM, route=route, environment=environment, client=client)


def handle(options: dict, out) -> None:
    out.write("Demo loaded." if load_demo() else "Demo already present; left as it is.")
