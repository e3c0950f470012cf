"""The release services: what a start checks, which moves are allowed from which state, roles, finalize."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.audit import SYSTEM, Actor
from core.models import AuditEntry, ConfigVersion
from routing import releases, services
from routing.effective import effective_config
from routing.models import OVERRIDABLE_FIELDS, Release, Route, RouteOverride, RouteRevision
from routing.releases import ReleaseError, ReleaseInProgress

ADMIN = Actor(label="alice", role="administrator")
DEVELOPER = Actor(label="dev", role="developer")
VIEWER = Actor(label="val", role="viewer")
CANDIDATE = {"target_base_url": "http://127.0.0.1:9/v2", "timeout_ms": 2000}


@pytest.fixture
def route(environments) -> Route:
    return services.route_create(actor=SYSTEM, name="Payments", target_base_url="http://127.0.0.1:9/v1")


def _version() -> int:
    return ConfigVersion.objects.get(pk=1).version


def test_it_starts_a_canary_at_its_first_step_with_a_fresh_salt(route, environments):
    before = _version()
    first = releases.start_release(ADMIN, route, environments["staging"], candidate=CANDIDATE)
    releases.abort(ADMIN, first)
    second = releases.start_release(ADMIN, route, environments["staging"], candidate=CANDIDATE)

    assert (second.state, second.current_step, second.weight_percent) == ("running", 0, 5.0)
    assert [s["weight_percent"] for s in second.steps] == [5.0, 25.0, 50.0, 100.0]
    assert len(second.salt) == 64 and second.salt != first.salt
    assert second.created_by_label == "alice" and second.sticky == "api_key"
    assert _version() > before
    assert AuditEntry.objects.filter(action="release.start", resource_id=str(second.pk)).exists()


def test_it_refuses_a_second_active_release_of_the_same_route_and_environment(route, environments):
    releases.start_release(ADMIN, route, environments["staging"], candidate=CANDIDATE)
    with pytest.raises(ReleaseInProgress):
        releases.start_release(ADMIN, route, environments["staging"], candidate=CANDIDATE)
    releases.start_release(ADMIN, route, environments["development"], candidate=CANDIDATE)  # elsewhere: fine


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"candidate": {}}, "candidate"),
        ({"candidate": {"target_base_url": "http://169.254.169.254/"}}, "target_base_url"),
        ({"candidate": {**CANDIDATE, "enabled": False}}, None),
        ({"candidate": {**CANDIDATE, "timeout_ms": 5}}, "timeout_ms"),
        ({"candidate": CANDIDATE, "steps": [{"weight_percent": 25}, {"weight_percent": 5}]}, "steps"),
        ({"candidate": CANDIDATE, "steps": [{"weight_percent": 0}]}, "steps"),
        ({"candidate": CANDIDATE, "sticky": "header", "sticky_header": "user-id"}, "sticky_header"),
        ({"candidate": CANDIDATE, "sticky": "header", "sticky_header": "x-knoxcall-key"}, "sticky_header"),
        ({"candidate": CANDIDATE, "analysis": {"max_error_rate": 2}}, "analysis"),
        ({"candidate": CANDIDATE, "analysis": {"nonsense": 1}}, None),
        ({"candidate": {**CANDIDATE, "inject_headers_json": {"X-K": "{{secret:NOPE}}"}}}, None),
    ],
)
def test_it_refuses_an_invalid_start(route, environments, spec, field):
    with pytest.raises(ValidationError) as refused:
        releases.start_release(ADMIN, route, environments["staging"], **spec)
    if field:
        assert field in refused.value.message_dict
    assert not Release.objects.exists()


def test_promote_walks_the_steps_then_finalizes_into_one_override_revision(route, environments):
    staging = environments["staging"]
    release = releases.start_release(ADMIN, route, staging, candidate=CANDIDATE)
    weights = []
    for _ in range(3):
        release = releases.promote(ADMIN, release)
        weights.append(release.weight_percent)
    revisions = RouteRevision.objects.filter(route_id=route.pk).count()

    release = releases.promote(ADMIN, release)

    assert weights == [25.0, 50.0, 100.0]
    assert (release.state, release.weight_percent) == ("finalized", 0.0) and release.finished_at
    override = RouteOverride.objects.get(route=route, environment=staging)
    assert (override.target_base_url, override.timeout_ms) == ("http://127.0.0.1:9/v2", 2000)
    assert RouteRevision.objects.filter(route_id=route.pk).count() == revisions + 1
    assert RouteRevision.objects.filter(route_id=route.pk).first().action == "release.finalize"
    with pytest.raises(ReleaseError):
        releases.promote(ADMIN, release)


def test_finished_releases_refuse_every_move(route, environments):
    release = releases.start_release(ADMIN, route, environments["staging"], candidate=CANDIDATE)
    release = releases.roll_back(SYSTEM, release, "candidate failed")
    assert (release.state, release.weight_percent, release.reason) == ("rolled_back", 0.0, "candidate failed")
    for action in (releases.promote, releases.resume, releases.abort, releases.finalize):
        with pytest.raises(ReleaseError) as refused:
            action(ADMIN, release)
        assert refused.value.api_code == "release_transition_refused"


def test_pause_and_resume(route, environments):
    release = releases.start_release(ADMIN, route, environments["staging"], candidate=CANDIDATE)
    release = releases.pause(ADMIN, release, "looking at logs")
    assert (release.state, release.weight_percent, release.reason) == ("paused", 5.0, "looking at logs")
    with pytest.raises(ReleaseError):
        releases.pause(ADMIN, release)
    started = release.step_started_at
    release = releases.resume(ADMIN, release)
    assert release.state == "running" and release.step_started_at > started
    release = releases.wait_for_approval(SYSTEM, release, "step 1 needs a person")
    assert release.state == "waiting"
    assert releases.promote(ADMIN, release).weight_percent == 25.0


def test_blue_green_previews_switches_back_and_forth_and_finalizes(route, environments):
    release = releases.start_release(
        ADMIN, route, environments["staging"], strategy="blue_green", candidate=CANDIDATE
    )
    assert (release.state, release.weight_percent, release.allow_variant_header) == ("waiting", 0.0, True)
    with pytest.raises(ReleaseError):
        releases.switch_back(ADMIN, release)  # nothing to switch back from
    release = releases.switch(ADMIN, release)
    assert (release.state, release.weight_percent) == ("running", 100.0)
    with pytest.raises(ReleaseError):
        releases.switch(ADMIN, release)  # a second click would restart the watch
    release = releases.switch_back(ADMIN, release)
    assert (release.state, release.weight_percent) == ("waiting", 0.0)
    release = releases.finalize(ADMIN, releases.switch(ADMIN, release))
    assert release.state == "finalized"
    config = effective_config(
        {n: getattr(route, n) for n in OVERRIDABLE_FIELDS},
        RouteOverride.objects.get(route=route, environment=environments["staging"]).overridden_values(),
    )
    assert config["target_base_url"] == CANDIDATE["target_base_url"]


def test_switch_is_refused_on_a_canary(route, environments):
    release = releases.start_release(ADMIN, route, environments["staging"], candidate=CANDIDATE)
    with pytest.raises(ReleaseError):
        releases.switch(ADMIN, release)


def test_roles_are_those_of_any_change_to_the_environment(route, environments):
    with pytest.raises(PermissionDenied):
        releases.start_release(DEVELOPER, route, environments["production"], candidate=CANDIDATE)
    with pytest.raises(PermissionDenied):
        releases.start_release(VIEWER, route, environments["staging"], candidate=CANDIDATE)
    release = releases.start_release(DEVELOPER, route, environments["staging"], candidate=CANDIDATE)
    in_production = releases.start_release(ADMIN, route, environments["production"], candidate=CANDIDATE)
    with pytest.raises(PermissionDenied):
        releases.abort(VIEWER, release)
    with pytest.raises(PermissionDenied):
        releases.abort(DEVELOPER, in_production)
    assert releases.abort(DEVELOPER, release).state == "aborted"


def test_a_running_release_owns_its_candidate_fields_in_its_environment(route, environments):
    staging, development = environments["staging"], environments["development"]
    release = releases.start_release(ADMIN, route, staging, candidate=CANDIDATE)

    with pytest.raises(ReleaseInProgress, match="target_base_url"):
        services.route_override_update(
            actor=ADMIN, route=route, environment=staging, target_base_url="http://127.0.0.1:9/other"
        )
    with pytest.raises(ReleaseInProgress):  # the base target is what staging inherits
        services.route_update(actor=ADMIN, route=route, target_base_url="http://127.0.0.1:9/other")
    assert Route.objects.get(pk=route.pk).target_base_url == "http://127.0.0.1:9/v1"
    assert not RouteOverride.objects.filter(route=route, environment=staging).exists()

    # Other fields, other environments, and a write that leaves the candidate's fields as they are pass.
    services.route_override_update(actor=ADMIN, route=route, environment=staging, rate_limit_enabled=True)
    services.route_override_update(
        actor=ADMIN, route=route, environment=development, target_base_url="http://127.0.0.1:9/dev"
    )
    services.route_update(actor=ADMIN, route=route, target_base_url="http://127.0.0.1:9/v1", description="x")

    releases.finalize(ADMIN, Release.objects.get(pk=release.pk))  # its own write goes through
    assert (
        effective_config(
            {name: getattr(Route.objects.get(pk=route.pk), name) for name in OVERRIDABLE_FIELDS},
            RouteOverride.objects.get(route=route, environment=staging).overridden_values(),
        )["target_base_url"]
        == CANDIDATE["target_base_url"]
    )
    services.route_override_update(
        actor=ADMIN, route=route, environment=staging, target_base_url="http://127.0.0.1:9/after"
    )
