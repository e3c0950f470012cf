"""The judging task on buckets written as the rollup would write them, with the step's start moved into the
past instead of waiting: every check is stored, and a pass, a fail or a long inconclusive each moves the
release as the issue says, with a notification to a local Slack-like receiver for a rollback or a pause."""

from datetime import timedelta

from django.utils import timezone

from analytics import histogram
from analytics.models import MetricBucket
from core.audit import SYSTEM
from deployments.models import ReleaseNotice
from deployments.releases.checks import judge_release, judge_running_releases
from deployments.tasks import judge_releases_task
from routing import releases
from routing.models import Release, ReleaseCheck, RouteOverride
from routing.services import route_create

CANDIDATE_URL = "http://127.0.0.1:9/candidate"


def started(environments, *, steps=None, strategy="canary", step_age_seconds=0, **spec) -> Release:
    route = route_create(
        actor=SYSTEM, name="Orders", slug="orders", target_base_url="http://127.0.0.1:9/stable"
    )
    release = releases.start_release(
        SYSTEM,
        route,
        environments["staging"],
        strategy=strategy,
        candidate={"target_base_url": CANDIDATE_URL},
        steps=steps,
        **spec,
    )
    if strategy == "blue_green":
        release = releases.switch(SYSTEM, release)
    return step_started(release, seconds_ago=step_age_seconds)


def step_started(release: Release, *, seconds_ago: float) -> Release:
    """The controllable clock: the step began this long ago (its buckets are written at now's minute)."""
    Release.objects.filter(pk=release.pk).update(
        step_started_at=timezone.now() - timedelta(seconds=seconds_ago)
    )
    return Release.objects.get(pk=release.pk)


def traffic(
    release: Release,
    variant: str,
    calls: int,
    errors: int = 0,
    latency_ms: float = 50.0,
    minutes_ago: int = 0,
) -> None:
    counts = histogram.empty()
    counts[histogram.bucket_index(latency_ms)] = calls
    MetricBucket.objects.create(
        route_id=release.route_id,
        environment=release.environment.name,
        release_id=str(release.pk),
        variant=variant,
        minute=(timezone.now() - timedelta(minutes=minutes_ago)).replace(second=0, microsecond=0),
        total=calls,
        status_2xx=calls - errors,
        status_5xx=errors,
        errors=errors,
        latency_histogram=counts,
    )


def two_steps(hold_seconds: int = 60, needs_approval: bool = False) -> list[dict]:
    return [
        {"weight_percent": 5, "hold_seconds": hold_seconds, "needs_approval": needs_approval},
        {"weight_percent": 100, "hold_seconds": hold_seconds},
    ]


def test_it_promotes_a_passing_step_once_its_hold_has_elapsed_and_stores_the_check(environments):
    release = started(environments, steps=two_steps(60), step_age_seconds=120)
    traffic(release, "candidate", 100)
    traffic(release, "stable", 1900, errors=10)

    assert judge_running_releases() == [{"release": str(release.pk), "verdict": "pass", "action": "promote"}]

    release.refresh_from_db()
    assert (release.state, release.current_step, release.weight_percent) == ("running", 1, 100.0)
    check = ReleaseCheck.objects.get(release=release)
    assert (check.step, check.verdict, check.numbers["action"]) == (0, "pass", "promote")
    assert check.numbers["candidate"]["calls"] == 100 and check.numbers["stable"]["errors"] == 10
    assert "Promoted to the next step" in check.reason


def test_it_holds_a_passing_step_until_its_hold_has_elapsed_and_promotes_once_when_run_twice(environments):
    release = started(environments, steps=two_steps(600), step_age_seconds=120)
    traffic(release, "candidate", 100)
    traffic(release, "stable", 1900)
    assert judge_running_releases()[0]["action"] == "hold"

    release = step_started(release, seconds_ago=601)
    now = timezone.now()
    judge_release(release.pk, now)
    judge_release(release.pk, now)  # an overlapping run: the step it saw has moved on

    release.refresh_from_db()
    assert release.current_step == 1


def test_it_rolls_a_failing_candidate_back_and_tells_the_alert_channels(environments, staging_slack):
    release = started(environments, step_age_seconds=60)
    traffic(release, "candidate", 60, errors=25)
    traffic(release, "stable", 1140, errors=0)

    judge_releases_task.apply()

    release.refresh_from_db()
    assert (release.state, release.weight_percent) == ("rolled_back", 0.0)
    assert "Rolled back by the judge: Errors: candidate 25/60" in release.reason
    check = ReleaseCheck.objects.get(release=release)
    assert (check.verdict, check.numbers["action"]) == ("fail", "roll_back")
    assert [(n.event, n.delivered) for n in ReleaseNotice.objects.all()] == [("release_rolled_back", True)]
    text = staging_slack.received[0].json["text"]
    assert "Orders @ staging: rolled back automatically" in text and "25/60" in text


def test_it_pauses_a_release_inconclusive_past_its_timeout_and_never_promotes_it(environments, staging_slack):
    release = started(environments, steps=two_steps(60), step_age_seconds=899)
    traffic(release, "candidate", 10)
    traffic(release, "stable", 1000)
    assert judge_running_releases()[0] == {
        "release": str(release.pk),
        "verdict": "inconclusive",
        "action": "hold",
    }

    release = step_started(release, seconds_ago=900)
    judge_running_releases()

    release.refresh_from_db()
    assert (release.state, release.current_step, release.weight_percent) == ("paused", 0, 5.0)
    assert "10 of 50 calls" in release.reason
    assert ReleaseNotice.objects.get().event == "release_paused"
    assert "paused" in staging_slack.received[0].json["text"]
    assert judge_running_releases() == []  # a paused release is not judged until a person resumes it


def test_it_waits_for_a_person_after_a_step_that_needs_approval(environments):
    release = started(environments, steps=two_steps(60, needs_approval=True), step_age_seconds=61)
    traffic(release, "candidate", 100)
    traffic(release, "stable", 1900)
    judge_running_releases()
    release.refresh_from_db()
    assert (release.state, release.current_step, release.weight_percent) == ("waiting", 0, 5.0)


def test_it_finalizes_after_the_last_step_passes_judged_against_the_stable_side_seen_earlier(environments):
    release = started(environments, steps=two_steps(60), step_age_seconds=61)
    traffic(release, "candidate", 100, minutes_ago=3)
    traffic(release, "stable", 1900, minutes_ago=3)
    Release.objects.filter(pk=release.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    step_started(release, seconds_ago=4 * 60)
    judge_running_releases()  # → the 100% step: no stable calls since it began
    release = step_started(Release.objects.get(pk=release.pk), seconds_ago=61)
    traffic(release, "candidate", 100)

    judge_running_releases()

    release.refresh_from_db()
    assert release.state == "finalized"
    assert RouteOverride.objects.get(
        route=release.route, environment=release.environment
    ).target_base_url == (CANDIDATE_URL)
    last = ReleaseCheck.objects.filter(release=release).first()
    assert (last.step, last.verdict, last.numbers["action"]) == (1, "pass", "finalize")
    assert (last.numbers["stable_baseline"], last.numbers["stable"]["calls"]) == ("release", 1900)


def test_it_switches_a_failing_blue_green_release_back_to_its_preview(environments, staging_slack):
    release = started(environments, strategy="blue_green", step_age_seconds=30)
    traffic(release, "stable", 2000)
    traffic(release, "candidate", 100, errors=80)

    judge_running_releases()

    release.refresh_from_db()
    assert (release.state, release.weight_percent) == ("waiting", 0.0)
    assert ReleaseNotice.objects.get().event == "release_switched_back"


def test_it_pauses_with_the_reason_when_finalizing_is_refused(environments, staging_slack):
    release = started(environments, steps=[{"weight_percent": 100, "hold_seconds": 0}], step_age_seconds=61)
    traffic(release, "candidate", 100)
    environments["staging"].changes_require_approval = True  # only a promotion may write staging now
    environments["staging"].save(update_fields=["changes_require_approval"])

    assert judge_running_releases()[0]["action"] == "pause"

    release.refresh_from_db()
    assert release.state == "paused" and "could not finalize" in release.reason
    check = ReleaseCheck.objects.get(release=release)
    assert check.numbers["refused"] == "finalize" and "finalize was refused" in check.reason
    assert ReleaseNotice.objects.get().event == "release_paused"
