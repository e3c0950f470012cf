"""Rate limits with in-process counters (the embedded default): route and key limits, headers, overrides."""

import time

import pytest

from core.audit import SYSTEM
from environments.services import api_key_create
from routing.proxy.ratelimit import decide, roll
from routing.services import route_create, route_override_update
from tests.support.access import allow_local_callers


@pytest.fixture
def limited_route(upstream, environments):
    route = route_create(
        actor=SYSTEM,
        name="Limited",
        slug="limited",
        target_base_url=upstream.url,
        rate_limit_enabled=True,
        rate_limit_requests=3,
        rate_limit_window_sec=86_400,
    )
    allow_local_callers(route)
    return route


def test_it_refuses_past_the_limit_with_the_headers(gateway, upstream, limited_route):
    gateway.reload()
    answers = [gateway.get("/echo", route="limited") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers[:3]] == ["2", "1", "0"]
    refused = answers[3]
    assert refused.json()["code"] == "rate_limited"
    assert refused.headers["x-ratelimit-limit"] == "3"
    assert int(refused.headers["retry-after"]) >= 1
    assert int(refused.headers["x-ratelimit-reset"]) > time.time()
    assert len(upstream.received) == 3  # upstream sees nothing of a refused call


def test_it_limits_each_environment_as_configured(gateway, upstream, limited_route, environments):
    route_override_update(
        actor=SYSTEM, route=limited_route, environment=environments["development"], rate_limit_enabled=False
    )
    gateway.reload()
    production = [gateway.get("/echo", route="limited").status_code for _ in range(5)]
    development = [gateway.get("/echo", route="limited", environment="development") for _ in range(20)]
    assert production == [200, 200, 200, 429, 429]
    assert {a.status_code for a in development} == {200}
    assert "x-ratelimit-limit" not in development[0].headers


def test_it_adds_the_burst_to_the_allowance(gateway, limited_route, environments):
    route_override_update(
        actor=SYSTEM, route=limited_route, environment=environments["staging"], rate_limit_burst=2
    )
    gateway.reload()
    codes = [gateway.get("/echo", route="limited", environment="staging").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


def test_it_limits_a_key_across_routes(gateway, upstream, environments):
    for slug in ("one", "two"):
        allow_local_callers(route_create(actor=SYSTEM, name=slug, slug=slug, target_base_url=upstream.url))
    _, raw_key = api_key_create(
        actor=SYSTEM, name="metered", role="viewer", rate_limit_requests=3, rate_limit_window_sec=86_400
    )
    gateway.reload()
    key = {"x-knoxcall-key": raw_key}
    slugs = ("one", "two", "one", "two")
    codes = [gateway.get("/echo", route=slug, headers=key).status_code for slug in slugs]
    assert codes == [200, 200, 200, 429]
    assert gateway.get("/echo", route="one").status_code == 200  # the IP alone is not metered


def test_it_weighs_the_previous_window_so_edges_allow_no_double_burst():
    window, limit = 60, 10
    state = [0.0, 0.0, 0.0]

    def burst(at: float) -> int:
        allowed = 0
        while decide(state, limit, window, roll(state, at, window))[0]:
            state[1] += 1
            allowed += 1
        return allowed

    assert burst(59.0) == 10  # the whole allowance at the end of one window
    assert burst(61.0) <= 1  # a fixed window would allow 10 more here
    assert burst(60 + 59.0) >= 8  # most of the previous window has slid out


def test_it_forgets_windows_older_than_the_previous_one():
    state = [0.0, 7.0, 3.0]
    roll(state, 300.0, 60)
    assert state == [300, 0, 0]
