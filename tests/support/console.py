"""Console test helpers: users in each role group and a small world of environments and a demo route."""

from django.contrib.auth.models import Group, User

from core.audit import SYSTEM
from core.permissions import ROLE_GROUPS
from environments.models import Environment
from environments.services import environment_create
from routing.models import Route
from routing.services import route_create, route_override_update
from tests.support.access import allow_local_callers

PASSWORD = "correct-horse-battery-staple"


def make_user(role: str, username: str | None = None, password: str | None = PASSWORD) -> User:
    """A user in the role's group (the groups come from a migration, but a flushed test DB may lack them).

    password=None skips the deliberately slow password hashing, for tests that use force_login.
    """
    user = User.objects.create_user(username or role, password=password)
    user.groups.add(Group.objects.get_or_create(name=ROLE_GROUPS[role])[0])
    return user


def seed_world(upstream_url: str) -> dict:
    """production (default, protected), staging and development, and a demo route with a staging override.

    The route lets any caller in and injects nothing, so it proxies whatever the access and vault features
    enforce once they land (the browser test sends requests without an API key or a stored secret).
    """
    Environment.objects.all().delete()
    envs = {
        "production": environment_create(
            actor=SYSTEM,
            name="production",
            display_name="Production",
            color="#dc2626",
            is_default=True,
            is_protected=True,
        ),
        "staging": environment_create(actor=SYSTEM, name="staging", display_name="Staging", color="#d97706"),
        "development": environment_create(
            actor=SYSTEM, name="development", display_name="Development", color="#059669"
        ),
    }
    route = route_create(
        actor=SYSTEM,
        name="Demo",
        slug="demo",
        target_base_url=f"{upstream_url}/production",
        description="Echoes what it receives.",
    )
    allow_local_callers(route)  # the console's Test tab calls the gateway from this machine
    route_override_update(
        actor=SYSTEM, route=route, environment=envs["staging"], target_base_url=f"{upstream_url}/staging"
    )
    return {"environments": envs, "route": Route.objects.get(pk=route.pk)}
