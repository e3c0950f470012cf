"""Judging running releases: every 15 s (beat), roll the request logs up, then for each running release read
both sides since its step began, judge, store the check, and act on it through routing.releases.

A pass whose hold has elapsed moves to the next step (or waits for a person, or finalizes after the last
step); a fail rolls the canary back (weight 0) or switches a blue-green release back to its preview, and
tells the environment's alert channels; inconclusive for too long pauses the release and tells them too.
Each release is judged under a lock on its row, so two overlapping runs cannot promote it twice.
"""

import logging
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from analytics.rollup import rollup
from analytics.selectors import Metrics, release_metrics_by_side
from core.audit import SYSTEM
from routing import releases
from routing.models import Release, ReleaseCheck, ReleaseState, ReleaseStrategy

from . import notify
from .judge import FINALIZE, HOLD, PAUSE, PROMOTE, ROLL_BACK, WAIT, Judgement, decide, judge

log = logging.getLogger(__name__)

ACTION_WORDS = {
    HOLD: "",
    PROMOTE: "Promoted to the next step.",
    WAIT: "The step passed its hold; waiting for a person to promote it.",
    FINALIZE: "The last step passed its hold: finalized.",
    ROLL_BACK: "Rolled back: everyone is on stable again.",
    PAUSE: "Inconclusive for longer than the timeout: paused, never promoted.",
}


def judge_running_releases(now: datetime | None = None) -> list[dict]:
    """Roll up first (the judge reads buckets), then judge every running release; one summary each."""
    rollup()
    done = []
    for release_id in Release.objects.filter(state=ReleaseState.RUNNING).values_list("pk", flat=True):
        try:
            summary = judge_release(release_id, now or timezone.now())
        except Exception:  # one release's trouble must not stop the others being judged
            log.exception("Judging release %s failed", release_id)
            continue
        if summary:
            done.append(summary)
    return done


def judge_release(release_id, now: datetime) -> dict | None:
    with transaction.atomic():
        release = (
            Release.objects.select_for_update().select_related("route", "environment").get(pk=release_id)
        )
        if release.state != ReleaseState.RUNNING or release.step_started_at is None:
            return None  # a person (or an overlapping run) acted since the list was read
        elapsed = max(0.0, (now - release.step_started_at).total_seconds())
        stable, candidate, baseline = sides_of(release)
        judgement = judge(release.analysis, stable, candidate, elapsed_seconds=elapsed)
        step = release.steps[release.current_step]
        is_last = release.current_step + 1 >= len(release.steps)
        action = decide(
            judgement, step=step, is_last_step=is_last, elapsed_seconds=elapsed, rules=release.analysis
        )
        check = ReleaseCheck.objects.create(
            release=release,
            step=release.current_step,
            verdict=judgement.verdict,
            reason=" ".join(filter(None, [judgement.reason, ACTION_WORDS[action]])),
            numbers=judgement.numbers
            | {"action": action, "weight_percent": release.weight_percent, "stable_baseline": baseline},
        )
        action = _act_or_pause(release, action, judgement, check)
        if action in notify.EVENTS:
            transaction.on_commit(lambda: notify.queue(check.pk))
    return {"release": str(release_id), "verdict": judgement.verdict, "action": action}


def sides_of(release: Release) -> tuple[Metrics, Metrics, str]:
    """(stable, candidate, "step") since the step began. When the step has too few stable calls to compare
    with (a 100% step, a blue-green switch) the stable side since the release began stands in for it
    ("release"): an earlier baseline, weaker than a concurrent one, and said so in the check."""
    sides = release_metrics_by_side(release.pk, since=release.step_started_at)
    stable, candidate = sides["stable"], sides["candidate"]
    if stable.total < int(release.analysis.get("min_calls", 50)):
        earlier = release_metrics_by_side(release.pk, since=release.created_at)["stable"]
        if earlier.total > stable.total:
            return earlier, candidate, "release"
    return stable, candidate, "step"


def _act_or_pause(release: Release, action: str, judgement: Judgement, check: ReleaseCheck) -> str:
    """Act; when the action is refused (finalize blocked by the environment's rules, a candidate whose
    secrets went missing), pause with the refusal as the reason instead of failing again every 15 s."""
    try:
        with transaction.atomic():
            _act(release, action, judgement)
        return action
    except (releases.ReleaseError, ValidationError, PermissionDenied) as exc:
        refusal = "; ".join(getattr(exc, "messages", None) or [str(exc)])
        check.reason = f"{check.reason} The {action.replace('_', ' ')} was refused: {refusal}"
        check.numbers |= {"action": PAUSE, "refused": action}
        check.save(update_fields=["reason", "numbers"])
        releases.pause(SYSTEM, release, f"The judge could not {action.replace('_', ' ')}: {refusal}")
        return PAUSE


def _act(release: Release, action: str, judgement: Judgement) -> None:
    """The action through the release services, as the system (audited like a person's action)."""
    if action == PROMOTE:
        releases.promote(SYSTEM, release)
    elif action == FINALIZE:
        releases.finalize(SYSTEM, release)
    elif action == WAIT:
        releases.wait_for_approval(SYSTEM, release, "The step passed its hold and waits for a person.")
    elif action == PAUSE:
        releases.pause(SYSTEM, release, f"Paused by the judge: {judgement.reason}")
    elif action == ROLL_BACK and release.strategy == ReleaseStrategy.BLUE_GREEN:
        releases.switch_back(SYSTEM, release, f"Switched back by the judge: {judgement.reason}")
    elif action == ROLL_BACK:
        releases.roll_back(SYSTEM, release, f"Rolled back by the judge: {judgement.reason}")
