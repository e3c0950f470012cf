"""Roles and the one check every service makes before it writes.

Viewers change nothing; Developers change what does not touch a protected environment; Administrators
(and the system itself) change everything. Services call `require_change`, so the console, the API and
the command line all inherit the same rules.

"Touches a protected environment" means: changes what that environment serves or holds — a route live
there (its base values, name, overrides, client assignments), a secret value there, a client assigned
there. Each service works out which protected environments its write reaches and passes their names.
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


def may_change_protected(actor) -> bool:
    """Whether the actor's writes may reach protected environments (services that adapt rather than refuse,
    such as a Developer's new route being created disabled there, ask this)."""
    return actor.role in (SYSTEM_ROLE, ADMINISTRATOR)


def require_change(
    actor,
    *,
    protected: list[str] | tuple[str, ...] = (),
    admin_only: bool = False,
    why: str = "",
) -> None:
    """Raise PermissionDenied, with a message a person can act on, unless the actor may make this change.

    `protected` names the protected environments the change would affect; `why` (a sentence) says how it
    reaches them, for a refusal a Developer can act on.
    """
    role = actor.role
    if may_change_protected(actor):
        return
    if role != DEVELOPER:
        raise PermissionDenied("Viewers can look but not change anything.")
    if admin_only:
        raise PermissionDenied("Only an Administrator can make this change.")
    if protected:
        names = ", ".join(sorted(protected))
        message = f"{names} is protected: only an Administrator can change it."
        raise PermissionDenied(f"{message} {why}" if why else message)
