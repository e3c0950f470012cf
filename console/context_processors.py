"""What every console page needs: the navigation, the user's role and whether they may change things."""

import logging

from django.http import HttpRequest

from core.permissions import ADMINISTRATOR, DEVELOPER, role_of_user
from routing.selectors import unavailable_routes as routes

log = logging.getLogger(__name__)

# (label, URL prefix). Other issues fill some of these pages in; the layout links them from the start.
NAVIGATION = [
    ("Home", "/"),
    ("Environments", "/environments/"),
    ("Routes", "/routes/"),
    ("Secrets", "/secrets/"),
    ("Clients", "/environments/clients/"),
    ("API keys", "/environments/api-keys/"),
    ("Analytics", "/analytics/"),
    ("Alerts", "/alerts/"),
    ("Deployments", "/deployments/"),
    ("Audit log", "/audit/"),
]


def _active(path: str, prefix: str) -> bool:
    if prefix == "/":
        return path == "/"
    if prefix == "/environments/":
        # Clients and API keys live under /environments/ but have their own entries.
        return path.startswith(prefix) and not any(
            path.startswith(p) for p in ("/environments/clients/", "/environments/api-keys/")
        )
    return path.startswith(prefix)


def unavailable_routes() -> list[dict]:
    """For the banner on every signed-in page; a failure to tell must not break the page itself."""
    try:
        return routes()
    except Exception:  # noqa: BLE001 - /readyz reports a table that cannot be built at all
        log.exception("could not tell which routes the gateway leaves out")
        return []


def console(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    role = role_of_user(user) if user is not None else None
    return {
        "nav_items": [
            {"label": label, "url": url, "active": _active(request.path, url)} for label, url in NAVIGATION
        ],
        "user_role": role,
        "user_can_edit": role in (ADMINISTRATOR, DEVELOPER),
        # A callable: the template calls it only where it shows the banner (signed-in, full pages).
        "unavailable_routes": unavailable_routes,
    }
