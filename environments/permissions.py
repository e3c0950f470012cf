"""Roles and the one check every service makes before it writes.

Viewers change nothing; Developers change what does not touch a protected environment; Administrators
(and the system itself) change everything. Services call `require_change`, so the console, the API and
the command line all inherit the same rules.
"""

from django.core.exceptions import PermissionDenied

ADMINISTRATOR = "administrator"
DEVELOPER = "developer"
VIEWER = "viewer"
SYSTEM_ROLE = "system"
ROLES = (ADMINISTRATOR, DEVELOPER, VIEWER)
ROLE_GROUPS = {ADMINISTRATOR: "Administrator", DEVELOPER: "Developer", VIEWER: "Viewer"}


def role_of_user(user) -> str:
    """A user's role from their group; superusers are Administrators, anyone else without a group a Viewer."""
    if user is None or not user.is_authenticated or not user.is_active:
        return VIEWER
    if user.is_superuser:
        return ADMINISTRATOR
    groups = set(user.groups.values_list("name", flat=True))
    for role in (ADMINISTRATOR, DEVELOPER):
        if ROLE_GROUPS[role] in groups:
            return role
    return VIEWER


def require_change(actor, *, protected: list[str] | tuple[str, ...] = (), admin_only: bool = False) -> None:
    """Raise PermissionDenied, with a message a person can act on, unless the actor may make this change.

    `protected` names the protected environments the change would affect.
    """
    role = actor.role
    if role in (SYSTEM_ROLE, ADMINISTRATOR):
        return
    if role != DEVELOPER:
        raise PermissionDenied("Viewers can look but not change anything.")
    if admin_only:
        raise PermissionDenied("Only an Administrator can make this change.")
    if protected:
        names = ", ".join(sorted(protected))
        raise PermissionDenied(f"{names} is protected: only an Administrator can change it.")
