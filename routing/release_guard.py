"""A running release owns its candidate's fields on its (route, environment).

While a canary or blue-green release is active, the stable side is the baseline the judge compares the
candidate with: a direct write to the same fields there (the target, the timeout, the injection templates)
would change the baseline mid-comparison, and finalizing would then silently overwrite it. Such writes are
refused with 409 `release_in_progress` until the release is finalized or aborted.
"""

from collections.abc import Iterable

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
    active = Release.objects.filter(route_id=route_id, state__in=ACTIVE_RELEASE_STATES)
    if environment_ids is not None:
        active = active.filter(environment_id__in=list(environment_ids))
    release = active.select_related("environment").first()
    if release is not None:
        raise ReleaseInProgress(
            f"A release is running on this route in {release.environment.name}: {', '.join(touched)} "
            "belong to it until it is finalized or aborted."
        )
