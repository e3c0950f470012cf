"""Region groups on the real gateway and two recording upstreams: choice, failover, residency, recovery."""

import time

import pytest

from analytics.models import RequestLog
from analytics.recorder import flush
from analytics.region_health import region_health_refresh
from core.audit import SYSTEM
from environments.models import Environment
from environments.regions import region_network_create
from environments.services import environment_create
from routing.regions import breakers
from routing.services import route_create, route_override_update
from tests.support.access import allow_local_callers
from tests.support.upstream import RecordingUpstream


@pytest.fixture
def us_upstream():
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def eu_upstream():
    server = RecordingUpstream().start()
    yield server
    if server.port_open:
        server.stop()


@pytest.fixture
def regional(gateway, us_upstream, eu_upstream, settings):
    """Group `prod` of prod-us then prod-eu; the caller (127.0.0.1) is in EU's network."""
    settings.KNOXCALL_FAILOVER_RETRY_SECONDS = 1.0  # a short breaker retry, so recovery is quick here
    breakers.reset()
    members = {
        "prod-us": environment_create(actor=SYSTEM, name="prod-us", region="us", region_group="prod"),
        "prod-eu": environment_create(
            actor=SYSTEM, name="prod-eu", region="eu", region_group="prod", failover_order=1
        ),
    }
    for slug, locked in (("geo", False), ("geo-locked", True)):
        route = route_create(
            actor=SYSTEM, name=slug, slug=slug, target_base_url=us_upstream.url, residency_locked=locked
        )
        route_override_update(
            actor=SYSTEM, route=route, environment=members["prod-eu"], target_base_url=eu_upstream.url
        )
        allow_local_callers(route, list(members))
    region_network_create(actor=SYSTEM, region="eu", cidr="127.0.0.0/8")
    gateway.reload()
    yield members
    breakers.reset()


def test_a_caller_in_the_eu_network_reaches_eu_and_a_hint_or_a_member_name_wins(
    gateway, regional, us_upstream, eu_upstream
):
    by_network = gateway.get("/a", route="geo", environment="prod")
    assert by_network.status_code == 200 and by_network.headers["x-knoxcall-environment"] == "prod-eu"
    hinted = gateway.get("/b", route="geo", environment="prod", headers={"x-knoxcall-region": "us"})
    pinned = gateway.get("/c", route="geo", environment="prod-us")
    assert hinted.headers["x-knoxcall-environment"] == pinned.headers["x-knoxcall-environment"] == "prod-us"
    assert [r.path for r in eu_upstream.complete] == ["/a"]
    assert [r.path for r in us_upstream.complete] == ["/b", "/c"]
    assert "x-knoxcall-failover-from" not in by_network.headers


def test_with_eu_down_the_process_fails_over_to_us_and_eu_recovers_by_itself(
    gateway, regional, us_upstream, eu_upstream
):
    eu_upstream.stop()
    statuses = []
    for _ in range(10):
        response = gateway.get("/pay", route="geo", environment="prod")
        statuses.append(response.status_code)
        if response.status_code == 200:
            break
    assert statuses.count(502) <= 5 and statuses[-1] == 200
    assert response.headers["x-knoxcall-environment"] == "prod-us"
    assert response.headers["x-knoxcall-failover-from"] == "prod-eu"
    flush()
    served = RequestLog.objects.filter(path="/pay", status=200).get()
    assert (served.environment, served.failover_from) == ("prod-us", "prod-eu")

    locked = gateway.get("/locked", route="geo-locked", environment="prod")
    assert locked.status_code == 503 and locked.json()["code"] == "region_unavailable"
    assert not [r for r in us_upstream.received if r.path == "/locked"]

    eu_upstream.start()  # the same port again
    for _ in range(300):  # the breaker retries EU after its short retry delay; no caller intervenes
        back = gateway.get("/again", route="geo", environment="prod")
        if back.headers["x-knoxcall-environment"] == "prod-eu":
            break
        time.sleep(0.05)
    assert back.status_code == 200 and back.headers["x-knoxcall-environment"] == "prod-eu"
    assert "x-knoxcall-failover-from" not in back.headers
    assert any(r.path == "/again" for r in eu_upstream.complete)


def test_the_fleet_task_marks_a_failing_member_down_for_every_process_and_up_again(
    gateway, regional, us_upstream, eu_upstream
):
    eu_upstream.stop()
    for _ in range(5):
        gateway.get("/x", route="geo", environment="prod")
    flush()
    assert region_health_refresh() == {"prod-eu": True}
    breakers.reset()  # as in another gateway process, which has seen none of these failures
    gateway.reload()
    moved = gateway.get("/y", route="geo", environment="prod")
    assert moved.headers["x-knoxcall-environment"] == "prod-us"
    assert moved.headers["x-knoxcall-failover-from"] == "prod-eu"
    assert Environment.objects.get(name="prod-eu").region_down_since is not None
    RequestLog.objects.all().delete()  # the window has passed: no recent failures of EU
    assert region_health_refresh() == {"prod-eu": False}


def test_a_call_naming_no_environment_uses_the_default_members_group(gateway, regional):
    Environment.objects.filter(is_default=True).update(is_default=False)
    Environment.objects.filter(name="prod-us").update(is_default=True)
    environment_create(actor=SYSTEM, name="bump")  # a configuration change: the table is rebuilt
    gateway.reload()
    response = gateway.get("/z", route="geo")
    assert response.status_code == 200 and response.headers["x-knoxcall-environment"] == "prod-eu"


def test_a_group_name_cannot_be_an_environment_name(regional):
    with pytest.raises(Exception, match="reserved"):
        environment_create(actor=SYSTEM, name="prod")
    with pytest.raises(Exception, match="group needs its own"):
        environment_create(actor=SYSTEM, name="prod-ap", region_group="staging")
