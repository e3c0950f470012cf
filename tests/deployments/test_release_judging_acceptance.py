"""Issue 15's judging acceptance, end to end: the real gateway (in process, uvicorn), recording upstreams on
127.0.0.1, and a real Celery worker and beat on the tests' database running beat's real schedule.

The judging interval is shortened from 15 s to JUDGE_EVERY_SECONDS through its setting
(KNOXCALL_RELEASE_CHECK_INTERVAL_SECONDS, read by settings.CELERY_BEAT_SCHEDULE) so the file stays short;
the 120-second promise of the first test holds with either interval (see the report's figures).
One worker and beat serve the whole module: starting them takes seconds on a busy machine.
"""

import itertools
import logging
import threading
import time
from datetime import timedelta

import httpx
import pytest
from aiohttp import web
from django.utils import timezone

from analytics.models import RequestLog
from core.audit import SYSTEM
from routing import releases
from routing.models import Release, ReleaseCheck
from routing.services import route_create
from tests.alerts.test_beat_latency import CeleryProcesses, wait_until
from tests.deployments.conftest import slack_watching
from tests.support.access import allow_local_callers
from tests.support.receivers import NotificationReceiver
from tests.support.upstream import RecordingUpstream

JUDGE_EVERY_SECONDS = 5
logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per call would bury a failure's output
ROLLBACK_WITHIN_SECONDS = 120


class HalfFailingUpstream(RecordingUpstream):
    """Answers every other call 500: a candidate failing 50% of its calls."""

    calls = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.calls += 1
        if self.calls % 2:
            return web.json_response({"error": "boom"}, status=500)
        return web.json_response({"ok": True})


@pytest.fixture(scope="module")
def celery_processes(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        processes = CeleryProcesses(tmp_path_factory.mktemp("celery"))
    processes.env["KNOXCALL_RELEASE_CHECK_INTERVAL_SECONDS"] = str(JUDGE_EVERY_SECONDS)
    processes.start()
    yield processes
    processes.stop()


@pytest.fixture(scope="module")
def healthy_candidate() -> RecordingUpstream:
    return RecordingUpstream().start()


@pytest.fixture
def worker_slack(slack_server, environments, settings) -> NotificationReceiver:
    """The receiver on staging's alert rule: where staging's release events go. The Celery worker sends
    them, so unlike `slack` this runs no task here."""
    slack_server.reset()
    settings.ALERTS_ALLOWED_HOSTS = ["127.0.0.1"]  # the worker has KNOXCALL_ALERTS_ALLOWED_HOSTS likewise
    return slack_watching(slack_server, environments["staging"])


class Traffic:
    """Calls to some routes at a steady total rate, from a few threads (one blocking client cannot keep 20
    calls/s on a busy machine), counted by the side that answered."""

    WORKERS = 4

    def __init__(self, gateway_url: str, slugs: list[str], per_second: float) -> None:
        self.gateway_url, self.slugs = gateway_url, slugs
        self.interval = 1 / (per_second * len(slugs))
        self.answers: list[tuple[str, str, int]] = []  # (route, variant header, status)
        self.stopped = threading.Event()
        self.threads = [
            threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(self.WORKERS)
        ]

    def run(self, worker: int) -> None:
        started = time.monotonic()
        with httpx.Client(base_url=self.gateway_url, timeout=10) as client:
            for n in itertools.count(worker, self.WORKERS):  # call n is due at started + n × interval
                time.sleep(max(0.0, started + n * self.interval - time.monotonic()))
                if self.stopped.is_set():
                    return
                slug = self.slugs[n % len(self.slugs)]
                headers = {"x-knoxcall-route": slug, "x-knoxcall-environment": "staging"}
                answer = client.get("/orders", headers=headers)
                self.answers.append((slug, answer.headers.get("x-knoxcall-variant", ""), answer.status_code))

    def __enter__(self) -> "Traffic":
        self.started = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(15)

    @property
    def rate(self) -> float:
        return len(self.answers) / (time.monotonic() - self.started)


def canary(slug: str, stable_url: str, candidate_url: str, environments, **spec) -> Release:
    route = allow_local_callers(route_create(actor=SYSTEM, name=slug, slug=slug, target_base_url=stable_url))
    candidate = {"target_base_url": candidate_url}
    return releases.start_release(SYSTEM, route, environments["staging"], candidate=candidate, **spec)


def state_of(release: Release) -> str:
    return Release.objects.values_list("state", flat=True).get(pk=release.pk)


def test_it_rolls_back_a_candidate_failing_half_its_calls_within_120_s_and_stable_sees_no_errors(
    gateway, upstream, worker_slack, celery_processes
):
    flaky = HalfFailingUpstream().start()
    release = canary("orders", upstream.url, flaky.url, gateway_environments(), sticky="none")
    gateway.reload()
    started = time.monotonic()

    with Traffic(gateway.url, ["orders"], per_second=20) as traffic:
        rolled_back = wait_until(lambda: state_of(release) == "rolled_back", ROLLBACK_WITHIN_SECONDS, 0.2)
        took = time.monotonic() - started
        time.sleep(1.5)  # every process serves weight 0 within a second of the decision
        after = len(traffic.answers)
        time.sleep(1.5)

    print(f"\nrolled back {took:.0f} s after the start ({traffic.rate:.1f} calls/s, judged every 5 s)")
    assert rolled_back, celery_processes.logs()
    release.refresh_from_db()
    assert release.weight_percent == 0.0 and "Rolled back by the judge" in release.reason
    stable = [status for _, variant, status in traffic.answers if variant == "stable"]
    candidate = [status for _, variant, status in traffic.answers if variant == "candidate"]
    assert stable and all(status == 200 for status in stable)
    assert 500 in candidate
    assert RequestLog.objects.filter(release_id=release.pk, variant="stable", status__gte=500).count() == 0
    assert {variant for _, variant, _ in traffic.answers[after:]} == {""}  # no release: all on stable
    fail = ReleaseCheck.objects.get(release=release, verdict="fail")
    assert fail.numbers["candidate"]["errors"] > 0 and fail.numbers["stable"]["errors"] == 0
    assert wait_until(lambda: worker_slack.received, 10), celery_processes.logs()
    assert "rolled back automatically" in worker_slack.received[0].json["text"]


def test_it_finishes_ten_releases_between_identical_healthy_upstreams_with_no_rollback(
    gateway, upstream, healthy_candidate, celery_processes
):
    # Compressed steps so ten releases end in well under a minute: more weight per step and a smaller
    # minimum than the defaults, every check still the full judge (errors and latency).
    steps = [{"weight_percent": w, "hold_seconds": 5} for w in (50, 100)]
    analysis = {"min_calls": 20}
    slugs = [f"orders-{i}" for i in range(10)]
    environments = gateway_environments()
    started = [
        canary(
            slug,
            upstream.url,
            healthy_candidate.url,
            environments,
            sticky="none",
            steps=steps,
            analysis=analysis,
        )
        for slug in slugs
    ]
    gateway.reload()

    def all_ended() -> bool:
        return not Release.objects.filter(pk__in=[r.pk for r in started], state="running").exists()

    with Traffic(gateway.url, slugs, per_second=5):
        ended = wait_until(all_ended, 90, 0.5)

    states = list(Release.objects.filter(pk__in=[r.pk for r in started]).values_list("state", flat=True))
    checks = ReleaseCheck.objects.filter(release__in=started)
    failed = checks.filter(verdict="fail").count()
    print(f"\nten releases {sorted(set(states))}: {checks.count()} checks, {failed} failed")
    assert ended, celery_processes.logs()
    assert states == ["finalized"] * 10
    assert not checks.filter(verdict="fail").exists()


def test_it_never_promotes_a_release_with_10_candidate_calls_in_15_minutes_and_says_why(
    gateway, upstream, healthy_candidate, worker_slack, celery_processes
):
    release = canary(
        "orders",
        upstream.url,
        healthy_candidate.url,
        gateway_environments(),
        sticky="none",
        allow_variant_header=True,
    )
    gateway.reload()
    for side, calls in (("candidate", 10), ("stable", 200)):
        for _ in range(calls):
            headers = {
                "x-knoxcall-route": "orders",
                "x-knoxcall-environment": "staging",
                "x-knoxcall-variant": side,
            }
            assert gateway.client.get("/orders", headers=headers).headers["x-knoxcall-variant"] == side

    # The controllable clock: the step began 14 minutes ago (its 10-minute hold is over), then 15.
    moved = timezone.now()
    Release.objects.filter(pk=release.pk).update(step_started_at=moved - timedelta(minutes=14))
    judged = wait_until(
        lambda: ReleaseCheck.objects.filter(release=release, checked_at__gt=moved).exists(), 30
    )
    assert judged, celery_processes.logs()
    check = ReleaseCheck.objects.filter(release=release).first()
    assert (check.verdict, check.numbers["action"]) == ("inconclusive", "hold")
    assert "10 of 50 calls" in check.reason
    release.refresh_from_db()
    assert (release.state, release.current_step) == ("running", 0)

    Release.objects.filter(pk=release.pk).update(step_started_at=timezone.now() - timedelta(minutes=15))
    assert wait_until(lambda: state_of(release) == "paused", 30), celery_processes.logs()
    release.refresh_from_db()
    assert release.current_step == 0 and "10 of 50 calls" in release.reason
    assert not ReleaseCheck.objects.filter(release=release, numbers__action="promote").exists()
    assert wait_until(lambda: worker_slack.received, 10)
    assert "paused" in worker_slack.received[0].json["text"]


def gateway_environments() -> dict:
    from environments.models import Environment

    return {e.name: e for e in Environment.objects.all()}
