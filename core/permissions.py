"""Roles and the one check every service makes before it writes.

Viewers change nothing; Developers change what does not touch a protected environment; Administrators
(and the system itself) change everything. Services call `require_change`, so the console, the API and
the command line all inherit the same rules.

"Touches a protected environment" means: changes what that environment serves or holds — a route live
there (its base values, name, overrides, client assignments), a secret value there, a client assigned
there. Each service works out which protected environments its write reaches and passes their names.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

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


class ApprovalRequired(PermissionDenied):
    """A direct write to an environment that takes changes only by promotion (changes_require_approval).

    The management API answers it 409 `approval_required`; the message points at the promotion that would.
    """

    api_status = 409
    api_code = "approval_required"


# Set while a promotion (or a rollback it owns) applies its plan: the approval was given to the whole plan,
# so its writes pass the `changes_require_approval` check. Only deployments.services enters it.
_approved_change: ContextVar[bool] = ContextVar("approved_change", default=False)


@contextmanager
def approved_change() -> Iterator[None]:
    token = _approved_change.set(True)
    try:
        yield
    finally:
        _approved_change.reset(token)


def require_approval_path(environments) -> None:
    """Refuse a direct write that reaches an environment whose changes go through promotion, unless the
    write is a promotion's own (approved_change). `environments` are the Environment rows it reaches."""
    if _approved_change.get():
        return
    gated = sorted(e.name for e in environments if e.changes_require_approval)
    if gated:
        names = ", ".join(gated)
        raise ApprovalRequired(
            f"{names} takes changes only by promotion: propose them with POST /v1/promotions (or the "
            "console's Promote page), where an Administrator approves them."
        )
