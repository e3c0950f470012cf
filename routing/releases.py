"""Releases: the writes that start, move and end a canary or blue-green release of one (route, environment).

Every action checks the role as for any change to that environment (core.permissions.require_change), locks
the release row, checks the move is allowed from the state it is in (TRANSITIONS; anything else is refused
with 409 `release_transition_refused`), saves, writes the audit entry and bumps the configuration version in
one transaction, so every gateway process serves the new weight within a second.

A blue-green release is a release of two steps: a preview at weight 0 that waits for a person (`waiting`),
and the switched step at weight 100 that is watched like a canary step. `switch` and `switch_back` move
between the two; `finalize` makes the candidate the environment's configuration (one override write, one
route revision) and ends the release.
"""

import re
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import Actor, record_change, scope
from core.permissions import require_approval_path, require_change
from core.updates import refuse_unknown_fields
from environments.models import Environment
from secrets_vault.rendering import parse_body, parse_headers, secret_placeholders
from secrets_vault.selectors import missing_references

from .effective import effective_config
from .models import (
    ACTIVE_RELEASE_STATES,
    CANDIDATE_FIELDS,
    DEFAULT_ANALYSIS,
    DEFAULT_STEPS,
    OVERRIDABLE_FIELDS,
    Release,
    ReleaseState,
    ReleaseStrategy,
    Route,
    RouteOverride,
    StickyBy,
)
from .release_guard import ReleaseError, ReleaseInProgress
from .revisions import lock_route, revision_scope
from .services import route_override_update
from .validation import INJECTION_FIELDS, clean_route_values

RUNNING, PAUSED, WAITING = ReleaseState.RUNNING, ReleaseState.PAUSED, ReleaseState.WAITING
ACTIVE = frozenset(ACTIVE_RELEASE_STATES)
# From which states each action may start. Anything else is refused: a finished release stays finished.
TRANSITIONS: dict[str, frozenset[str]] = {
    "promote": ACTIVE,
    "pause": frozenset({RUNNING, WAITING}),
    "resume": frozenset({PAUSED}),
    "wait": frozenset({RUNNING}),
    "abort": ACTIVE,
    "roll_back": ACTIVE,
    "switch": ACTIVE,
    "switch_back": ACTIVE,
    "finalize": ACTIVE,
}
BLUE_GREEN_ONLY = frozenset({"switch", "switch_back"})
# Blue-green: a preview nobody but testers reaches, then everyone on the candidate, watched for 10 minutes.
BLUE_GREEN_STEPS = [
    {"weight_percent": 0.0, "hold_seconds": 0, "needs_approval": True},
    {"weight_percent": 100.0, "hold_seconds": 600, "needs_approval": False},
]
PREVIEW_REASON = (
    "Preview: only calls with x-knoxcall-variant: candidate reach the candidate. Switch when ready."
)
STICKY_HEADER_RE = re.compile(r"^x-[a-z0-9][a-z0-9-]{0,98}$")
MAX_STEPS = 20
START_FIELDS = (
    "strategy",
    "candidate",
    "steps",
    "sticky",
    "sticky_header",
    "analysis",
    "allow_variant_header",
)


# --- validation of a start ------------------------------------------------------------------------------


def clean_candidate(route: Route, environment: Environment, candidate: Any) -> dict[str, Any]:
    """The candidate's values, checked like an override of the same fields (target URL rules, injection
    templates, timeout bounds) plus its secrets having a value in that environment."""
    if not isinstance(candidate, dict) or not candidate.get("target_base_url"):
        raise ValidationError({"candidate": "Give at least the candidate's target_base_url."})
    refuse_unknown_fields(candidate, CANDIDATE_FIELDS, "candidate")
    values = clean_route_values({k: v for k, v in candidate.items() if v is not None})
    if "timeout_ms" in values:
        try:
            values["timeout_ms"] = OVERRIDABLE_FIELDS["timeout_ms"].clean(values["timeout_ms"], None)
        except ValidationError as exc:
            raise ValidationError({"timeout_ms": exc.messages}) from exc
    _check_candidate_secrets(route, environment, values)
    return values


def _check_candidate_secrets(route: Route, environment: Environment, values: dict) -> None:
    base = {name: getattr(route, name) for name in INJECTION_FIELDS}
    override = RouteOverride.objects.filter(route=route, environment=environment).first()
    stable = {name: getattr(override, name) for name in INJECTION_FIELDS} if override else {}
    config = effective_config(base, {**stable, **{k: v for k, v in values.items() if k in INJECTION_FIELDS}})
    parsed = (parse_headers(config["inject_headers_json"]), parse_body(config["inject_body_json"] or {}))
    problems = missing_references({environment.name: secret_placeholders(parsed)})
    if problems:
        raise ValidationError("Secrets are missing: " + "; ".join(problems) + ".", code="secret_missing")


def _clean_step(step: Any, index: int) -> dict:
    if not isinstance(step, dict):
        raise ValidationError({"steps": f"Step {index + 1} is not an object."})
    refuse_unknown_fields(step, ("weight_percent", "hold_seconds", "needs_approval"), "step")
    try:
        weight = float(step.get("weight_percent"))
        hold = int(step.get("hold_seconds", 600))
    except (TypeError, ValueError):
        raise ValidationError(
            {"steps": f"Step {index + 1} needs a number weight_percent and hold_seconds."}
        ) from None
    if not 0 <= weight <= 100 or not 0 <= hold <= 7 * 86_400:
        raise ValidationError({"steps": f"Step {index + 1}: weight 0-100 %, hold 0 s to 7 days."})
    return {
        "weight_percent": weight,
        "hold_seconds": hold,
        "needs_approval": bool(step.get("needs_approval")),
    }


def clean_steps(strategy: str, steps: Any) -> list[dict]:
    """A canary's weights rise strictly from above 0 (raising the weight only ever adds callers, so a caller
    never flips back); a blue-green release is a preview at 0 and the switch to 100."""
    if steps is None:
        return [
            dict(s) for s in (BLUE_GREEN_STEPS if strategy == ReleaseStrategy.BLUE_GREEN else DEFAULT_STEPS)
        ]
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        raise ValidationError({"steps": f"Give a list of 1 to {MAX_STEPS} steps."})
    cleaned = [_clean_step(step, i) for i, step in enumerate(steps)]
    weights = [step["weight_percent"] for step in cleaned]
    if strategy == ReleaseStrategy.BLUE_GREEN:
        if weights != [0.0, 100.0]:
            raise ValidationError(
                {"steps": "A blue-green release has two steps: weight 0 (preview), then 100."}
            )
        cleaned[0]["needs_approval"] = True  # the switch is always a person's decision
    elif weights[0] <= 0 or any(b <= a for a, b in zip(weights, weights[1:], strict=False)):
        raise ValidationError({"steps": "A canary's weights must rise step by step, starting above 0."})
    return cleaned


def clean_sticky(sticky: str, sticky_header: str) -> tuple[str, str]:
    if sticky not in StickyBy.values:
        raise ValidationError({"sticky": f"Choose one of: {', '.join(StickyBy.values)}."})
    header = (sticky_header or "").strip().lower()
    if sticky != StickyBy.HEADER:
        return sticky, ""
    if not STICKY_HEADER_RE.match(header) or header.startswith("x-knoxcall-"):
        raise ValidationError(
            {"sticky_header": "Name an x- request header (not x-knoxcall-…), e.g. x-user-id."}
        )
    return sticky, header


def clean_analysis(analysis: Any) -> dict:
    if analysis is None:
        return dict(DEFAULT_ANALYSIS)
    if not isinstance(analysis, dict):
        raise ValidationError({"analysis": "Give a JSON object of analysis rules."})
    refuse_unknown_fields(analysis, DEFAULT_ANALYSIS, "analysis")
    cleaned = dict(DEFAULT_ANALYSIS)
    for name, value in analysis.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValidationError({"analysis": f"{name} must be a number of 0 or more."})
        cleaned[name] = type(DEFAULT_ANALYSIS[name])(value)
    if cleaned["max_error_rate"] > 1 or cleaned["min_effect"] > 1:
        raise ValidationError({"analysis": "max_error_rate and min_effect are shares between 0 and 1."})
    return cleaned


# --- the actions ----------------------------------------------------------------------------------------


def _require_change(actor: Actor, environment: Environment) -> None:
    protected = [environment.name] if environment.is_protected else []
    require_change(actor, protected=protected, why="A release changes what callers there are served.")


def _snapshot(release: Release) -> dict:
    return {
        "state": release.state,
        "current_step": release.current_step,
        "weight_percent": release.weight_percent,
        "reason": release.reason,
    }


def _audit(actor: Actor, release: Release, action: str, before: dict | None) -> None:
    """Audited as a release of the route; the version bump makes every gateway serve the new weight."""
    record_change(
        actor=actor,
        action=f"release.{action}",
        resource_type="release",
        resource_id=release.pk,
        resource_name=release.route.name,
        environment=release.environment.name,
        before=before,
        after=_snapshot(release),
        scopes=[scope("route", release.route_id)],  # the table rebuilds only this route's entries
    )


def start_release(actor: Actor, route: Route, environment: Environment, **spec: Any) -> Release:
    """Start a release on (route, environment): a canary at its first step's weight, or a blue-green
    preview at weight 0 waiting for its switch. At most one active release per (route, environment)."""
    refuse_unknown_fields(spec, START_FIELDS, "release")
    _require_change(actor, environment)
    require_approval_path([environment])  # its finalize writes the environment's configuration
    strategy = spec.get("strategy") or ReleaseStrategy.CANARY
    if strategy not in ReleaseStrategy.values:
        raise ValidationError({"strategy": f"Choose one of: {', '.join(ReleaseStrategy.values)}."})
    release = _new_release(actor, route, environment, strategy, spec)
    try:
        with transaction.atomic():
            # The route's writers check for a running release under this lock (route_update, rollback):
            # taking it here means none of them can pass that check while this release begins.
            lock_route(route.pk)
            _refuse_second_active(route, environment)
            release.save()
            _audit(actor, release, "start", None)
    except IntegrityError:  # another start won the race for the one active release
        raise ReleaseInProgress(_in_progress_message(route, environment)) from None
    return release


def _new_release(actor: Actor, route: Route, environment: Environment, strategy: str, spec: dict) -> Release:
    steps = clean_steps(strategy, spec.get("steps"))
    blue_green = strategy == ReleaseStrategy.BLUE_GREEN
    default_sticky = StickyBy.NONE if blue_green else StickyBy.API_KEY
    sticky, sticky_header = clean_sticky(spec.get("sticky") or default_sticky, spec.get("sticky_header", ""))
    allow = spec.get("allow_variant_header")
    return Release(
        route=route,
        environment=environment,
        strategy=strategy,
        state=WAITING if steps[0]["needs_approval"] and blue_green else RUNNING,
        candidate=clean_candidate(route, environment, spec.get("candidate")),
        steps=steps,
        current_step=0,
        weight_percent=steps[0]["weight_percent"],
        sticky=sticky,
        sticky_header=sticky_header,
        allow_variant_header=blue_green or bool(allow),
        analysis=clean_analysis(spec.get("analysis")),
        step_started_at=timezone.now(),
        reason=PREVIEW_REASON if blue_green else "",
        created_by_user=actor.user,
        created_by_key=actor.api_key_id,
        created_by_label=actor.label,
    )


def _in_progress_message(route: Route, environment: Environment) -> str:
    return f"{route.name} already has an active release in {environment.name}: finish or abort it first."


def _refuse_second_active(route: Route, environment: Environment) -> None:
    if Release.objects.filter(route=route, environment=environment, state__in=ACTIVE).exists():
        raise ReleaseInProgress(_in_progress_message(route, environment))


def _locked(release: Release, action: str) -> Release:
    """The release re-read under a row lock, refused unless `action` may start from its state now (the
    judge and a person may act at once; the second sees the first's result)."""
    locked = Release.objects.select_for_update().select_related("route", "environment").get(pk=release.pk)
    if action in BLUE_GREEN_ONLY and locked.strategy != ReleaseStrategy.BLUE_GREEN:
        raise ReleaseError(f"{action.replace('_', '-')} is for blue-green releases; this one is a canary.")
    if locked.state not in TRANSITIONS[action]:
        verb = action.replace("_", " ")
        raise ReleaseError(f"This release is {locked.get_state_display().lower()}: it cannot {verb} now.")
    return locked


def _act(actor: Actor, release: Release, action: str, change) -> Release:
    """The frame of every action but start: role, lock, allowed move, change, audit, one transaction."""
    _require_change(actor, release.environment)
    with transaction.atomic():
        locked = _locked(release, action)
        before = _snapshot(locked)
        change(locked)
        locked.save()
        _audit(actor, locked, action, before)
    return locked


def _enter_step(release: Release, index: int, now: datetime | None = None) -> None:
    step = release.steps[index]
    release.current_step = index
    release.weight_percent = step["weight_percent"]
    release.step_started_at = now or timezone.now()
    release.state = RUNNING
    release.reason = ""


def _end(release: Release, state: str, reason: str) -> None:
    release.state = state
    release.weight_percent = 0.0
    release.reason = reason
    release.finished_at = timezone.now()


def promote(actor: Actor, release: Release) -> Release:
    """The next step (its weight, its hold starting now), or finalize after the last step."""
    with transaction.atomic():
        current = Release.objects.select_for_update().get(pk=release.pk)
        if current.state in ACTIVE and current.current_step + 1 >= len(current.steps):
            return finalize(actor, current)
        return _act(actor, current, "promote", lambda r: _enter_step(r, r.current_step + 1))


def pause(actor: Actor, release: Release, reason: str = "") -> Release:
    """Hold at the current weight: nothing moves until a person resumes (the judge's inconclusive timeout
    pauses too, with its reason)."""

    def change(r: Release) -> None:
        r.state, r.reason = PAUSED, reason or f"Paused by {actor.label}."

    return _act(actor, release, "pause", change)


def resume(actor: Actor, release: Release) -> Release:
    """Back to running; the step's hold and analysis window start again from now."""
    return _act(actor, release, "resume", lambda r: _enter_step(r, r.current_step))


def wait_for_approval(actor: Actor, release: Release, reason: str = "") -> Release:
    """A step marked needs_approval passed its hold: keep its weight and wait for a person to promote."""

    def change(r: Release) -> None:
        r.state, r.reason = WAITING, reason or "This step waits for a person to promote it."

    return _act(actor, release, "wait", change)


def abort(actor: Actor, release: Release, reason: str = "") -> Release:
    """Everyone back on stable at once; the release ends."""
    return _act(
        actor,
        release,
        "abort",
        lambda r: _end(r, ReleaseState.ABORTED, reason or f"Aborted by {actor.label}."),
    )


def roll_back(actor: Actor, release: Release, reason: str) -> Release:
    """Like abort, for a candidate judged failing (the judge's action): weight 0, state rolled_back."""
    return _act(actor, release, "roll_back", lambda r: _end(r, ReleaseState.ROLLED_BACK, reason))


def switch(actor: Actor, release: Release) -> Release:
    """Blue-green: every new call goes to the candidate (weight 100); calls in flight finish where they
    started. Refused when already switched, so a second click cannot restart the watch."""

    def change(r: Release) -> None:
        if r.current_step == len(r.steps) - 1:
            raise ReleaseError("This release is already switched to the candidate.")
        _enter_step(r, len(r.steps) - 1)

    return _act(actor, release, "switch", change)


def switch_back(actor: Actor, release: Release, reason: str = "") -> Release:
    """Blue-green: every new call back on stable, the candidate kept in preview. One click until finalized."""

    def change(r: Release) -> None:
        if r.current_step == 0:
            raise ReleaseError("This release is not switched: every call is on stable already.")
        _enter_step(r, 0)
        r.state, r.reason = WAITING, reason or PREVIEW_REASON

    return _act(actor, release, "switch_back", change)


def finalize(actor: Actor, release: Release) -> Release:
    """The candidate's values become the environment's override of the route through the override service
    (its role check, validation and one route revision), and the release ends in the same transaction."""
    _require_change(actor, release.environment)
    with transaction.atomic(), revision_scope(action="release.finalize", actor=actor):
        locked = _locked(release, "finalize")
        before = _snapshot(locked)
        # Ended first, so that the override write below is no longer refused as a write during a release.
        locked.state, locked.reason = ReleaseState.FINALIZED, "The candidate is now the configuration."
        locked.weight_percent, locked.finished_at = 0.0, timezone.now()
        locked.save()
        route_override_update(
            actor=actor, route=locked.route, environment=locked.environment, **locked.candidate
        )
        _audit(actor, locked, "finalize", before)
    return locked
