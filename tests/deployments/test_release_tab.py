"""The route's Releases tab: both sides' figures and measured share, the checks, the actions a state allows,
and the start form's errors shown at their fields."""

from django.test import Client
from django.utils import timezone

from analytics.models import RequestLog
from analytics.rollup import rollup
from core.audit import SYSTEM
from routing.models import Release, ReleaseCheck
from routing.releases import start_release
from tests.support.console import make_user, seed_world


def _calls(release: Release, side: str, count: int, status: int = 200, latency: float = 20.0) -> None:
    now = timezone.now()
    RequestLog.objects.bulk_create(
        RequestLog(
            request_id=f"{side}-{i}-{status}",
            timestamp=now,
            route_id=release.route_id,
            route_slug=release.route.slug,
            environment=release.environment.name,
            method="GET",
            path="/x",
            status=status,
            latency_ms=latency,
            release_id=release.pk,
            variant=side,
        )
        for i in range(count)
    )


def _admin() -> Client:
    client = Client()
    client.force_login(make_user("administrator", password=None))
    return client


def test_it_shows_both_sides_the_measured_share_the_checks_and_the_allowed_actions(db):
    world = seed_world("http://127.0.0.1:9")
    route, staging = world["route"], world["environments"]["staging"]
    release = start_release(SYSTEM, route, staging, candidate={"target_base_url": "http://127.0.0.1:9/v2"})
    release.step_started_at = timezone.now().replace(second=0, microsecond=0)
    release.save(update_fields=["step_started_at"])
    _calls(release, "stable", 90)
    _calls(release, "candidate", 8)
    _calls(release, "candidate", 2, status=500)
    rollup()
    ReleaseCheck.objects.create(release=release, step=0, verdict="inconclusive", reason="10 of 50 calls")

    page = _admin().get(f"/deployments/routes/{route.pk}/releases/?environment=staging")

    html = page.content.decode()
    assert page.status_code == 200
    assert "measured: 10.0% of 100 calls on the candidate" in html
    assert "10 of 50 calls" in html and "Inconclusive" in html
    assert html.count('class="chart card') == 2  # a chart per side
    for shown in ("Promote", "Pause", "Abort", "Finalize"):
        assert f">{shown}</button>" in html
    assert ">Resume</button>" not in html and ">Switch to candidate</button>" not in html
    assert 'id="start-release"' not in html  # one active release at a time


def test_the_start_form_shows_the_services_refusal_at_its_field(db):
    world = seed_world("http://127.0.0.1:9")
    route = world["route"]
    form = {
        "environment": "development",
        "strategy": "canary",
        "target_base_url": "http://169.254.169.254/",
        "weights": "5, 25",
        "hold_seconds": "60",
        "sticky": "api_key",
    }
    admin = _admin()
    page = admin.post(f"/deployments/routes/{route.pk}/releases/", form)
    assert page.status_code == 400
    assert 'class="field has-error"' in page.content.decode()
    assert not Release.objects.exists()
    started = admin.post(
        f"/deployments/routes/{route.pk}/releases/", {**form, "target_base_url": "http://127.0.0.1:9/v2"}
    )
    assert started.status_code == 302
    assert Release.objects.get().steps[1] == {
        "weight_percent": 25.0,
        "hold_seconds": 60,
        "needs_approval": False,
    }
