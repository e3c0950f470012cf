"""A running release owns its candidate's fields on its (route, environment).

While a canary or blue-green release is active, the stable side is the baseline the judge compares the
candidate with: a direct write to the same fields there (the target, the timeout, the injection templates)
would change the baseline mid-comparison, and finalizing would then silently overwrite it. Such writes, and
rollbacks that would change those fields there, are refused with 409 `release_in_progress` until the
release is finalized or aborted.
"""

from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

from django.db.models import QuerySet

from .compare import compare_views
from .models import ACTIVE_RELEASE_STATES, CANDIDATE_FIELDS, Release


class ReleaseError(Exception):
    """A refused release action; the management API answers `api_status` with `api_code` as its type."""

    api_status = 409
    api_code = "release_transition_refused"


class ReleaseInProgress(ReleaseError):
    api_code = "release_in_progress"


def refuse_during_release(
    route_id, fields: Iterable[str], environment_ids: Iterable[int] | None = None
) -> None:
    """Refuse a write of candidate fields to a route with an active release in one of `environment_ids`
    (None: any environment, for a base write that every inheriting environment sees)."""
    touched = sorted(set(fields) & set(CANDIDATE_FIELDS))
    if not touched:
        return
    active = _active_releases(route_id)
    if environment_ids is not None:
        active = active.filter(environment_id__in=list(environment_ids))
    release = active.first()
    if release is not None:
        _refuse(release, touched)


def refuse_document_change_during_release(
    route_id, current: Mapping[str, Any], desired: Mapping[str, Any]
) -> None:
    """Refuse a whole-document write (a rollback) that changes what a running release's environment serves
    in its candidate's fields. Compared as that environment sees them, so a change it does not see (a base
    value it overrides, an override equal to the base) leaves the baseline alone and passes."""
    for release in _active_releases(route_id):
        environment = release.environment.name
        rows = compare_views(current, environment, desired, environment)
        touched = [row.field for row in rows if row.field in CANDIDATE_FIELDS and row.changed]
        if touched:
            _refuse(release, touched)


def _active_releases(route_id) -> QuerySet[Release]:
    return Release.objects.filter(route_id=route_id, state__in=ACTIVE_RELEASE_STATES).select_related(
        "environment"
    )


def _refuse(release: Release, touched: Iterable[str]) -> NoReturn:
    raise ReleaseInProgress(
        f"A release is running on this route in {release.environment.name}: {', '.join(touched)} "
        "belong to it until it is finalized or aborted."
    )
