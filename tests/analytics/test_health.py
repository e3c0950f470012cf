"""The health verdict (analytics.health): pure judgement, then through the real gateway, rollup and pages."""

import re

import pytest

from analytics.health import DEFAULT_THRESHOLDS, health_verdict
from analytics.rollup import rollup
from analytics.selectors import Metrics, environment_health
from core.audit import SYSTEM
from routing.services import route_create
from tests.analytics.traffic import wait_for_logs
from tests.support.access import allow_local_callers
from tests.support.console import make_user
from tests.support.gateway_process import free_port as closed_port  # bound then closed: refuses


def calls(total: int, **counts: int) -> Metrics:
    """Metrics of `total` fast calls, some of them errors, rate-limited or unauthorized."""
    metrics = Metrics(total=total, **counts)
    metrics.latency_histogram[0] = total
    return metrics


def test_it_is_not_healthy_when_28_of_54_calls_were_rate_limited():
    verdict, reasons = health_verdict(calls(54, rate_limited=28), DEFAULT_THRESHOLDS)

    assert verdict == "down"
    assert reasons == ["rate-limited (429) 51.9% ≥ 50.0%"]


@pytest.mark.parametrize(
    ("counts", "verdict", "reason"),
    [
        ({}, "healthy", "within thresholds"),
        ({"errors": 5}, "degraded", "errors (5xx and gateway) 5.0% ≥ 5.0%"),
        ({"errors": 50}, "down", "errors (5xx and gateway) 50.0% ≥ 50.0%"),
        ({"rate_limited": 10}, "degraded", "rate-limited (429) 10.0% ≥ 10.0%"),
        ({"unauthorized": 12}, "degraded", "unauthorized (401/403) 12.0% ≥ 10.0%"),
        ({"unauthorized": 80}, "down", "unauthorized (401/403) 80.0% ≥ 50.0%"),
    ],
)
def test_it_judges_every_share_a_caller_experiences(counts, verdict, reason):
    got, reasons = health_verdict(calls(100, **counts), DEFAULT_THRESHOLDS)

    assert got == verdict and any(reason in r for r in reasons), reasons


def test_it_lists_every_figure_of_the_worst_level_and_skips_thresholds_set_to_none():
    metrics = calls(100, errors=60, rate_limited=30)
    assert health_verdict(metrics, DEFAULT_THRESHOLDS)[1] == ["errors (5xx and gateway) 60.0% ≥ 50.0%"]

    relaxed = DEFAULT_THRESHOLDS | {"down_error_rate": None, "degraded_rate_limited_rate": None}
    assert health_verdict(metrics, relaxed) == ("degraded", ["errors (5xx and gateway) 60.0% ≥ 5.0%"])
    assert health_verdict(Metrics(), DEFAULT_THRESHOLDS)[0] == "idle"


# --- Through the real gateway, the rollup and the console --------------------------------------------------


@pytest.fixture
def console(client, environments):
    client.force_login(make_user("viewer", password=None))
    return client


def card(html: str, marker: str) -> str:
    """The HTML of one environment's card: from its marker to the end of its <article>."""
    start = html.index(marker)
    return html[start : html.index("</article>", start)]


def test_it_shows_28_of_54_rate_limited_calls_as_a_share_and_not_healthy_everywhere(
    gateway, upstream, console
):
    allow_local_callers(
        route_create(
            actor=SYSTEM,
            name="Limited",
            slug="limited",
            target_base_url=upstream.url,
            rate_limit_enabled=True,
            rate_limit_requests=26,
            rate_limit_window_sec=3600,
        )
    )
    gateway.reload()
    statuses = [gateway.get("/echo", route="limited", environment="staging").status_code for _ in range(54)]
    assert (statuses.count(200), statuses.count(429)) == (26, 28)
    wait_for_logs(54)
    rollup()

    health = card(console.get("/analytics/health/").content.decode(), 'id="health-staging"')
    assert 'data-verdict="down"' in health and "rate-limited (429) 51.9% ≥ 50.0%" in health
    assert re.search(r'data-share="rate_limited_rate">.*?<dd>51\.9%<span class="threshold">28 of 54', health)
    assert re.search(r'data-share="error_rate">.*?<dd>0\.0%', health)  # no error: the verdict says why

    home = card(console.get("/").content.decode(), "env-card card env-staging")
    assert 'data-verdict="down"' in home
    assert "<dt>Rate-limited</dt><dd>51.9%</dd>" in home and "<dt>Unauthorized</dt><dd>0.0%</dd>" in home

    compare = console.get("/analytics/?window=15m").content.decode()
    verdicts = dict(
        re.findall(
            r'<td data-environment="(\w+)"><span class="verdict-badge[^"]*" data-verdict="(\w+)"', compare
        )
    )
    assert verdicts == {"production": "idle", "staging": "down", "development": "idle"}
    assert '<td data-environment="staging">51.9% · 28</td>' in compare

    api = {e["environment"]: e for e in console.get("/v1/analytics/environments?window=15m").json()["data"]}
    staging = api["staging"]
    assert (staging["total"], staging["rate_limited"], staging["rate_limited_rate"]) == (54, 28, 28 / 54)
    assert staging["verdict"] == "down" and staging["verdict_reasons"] == ["rate-limited (429) 51.9% ≥ 50.0%"]


def test_it_counts_502s_of_an_unreachable_upstream_as_gateway_errors(gateway, upstream, console):
    allow_local_callers(
        route_create(
            actor=SYSTEM, name="Gone", slug="gone", target_base_url=f"http://127.0.0.1:{closed_port()}"
        )
    )
    allow_local_callers(route_create(actor=SYSTEM, name="Up", slug="up", target_base_url=upstream.url))
    gateway.reload()
    gone = [gateway.get("/x", route="gone") for _ in range(4)]
    assert {(r.status_code, r.json()["code"]) for r in gone} == {(502, "upstream_unavailable")}
    assert all(gateway.get("/echo", route="up").status_code == 200 for _ in range(6))
    wait_for_logs(10)
    rollup()

    production = {h.environment.name: h for h in environment_health()}["production"]
    figures = production.metrics
    assert (figures.status_5xx, figures.gateway_errors, figures.errors, figures.error_rate) == (4, 4, 4, 0.4)
    assert production.verdict == "degraded"
    health = card(console.get("/analytics/health/").content.decode(), 'id="health-production"')
    assert "4 of 10 · 4 gateway errors" in health and "errors (5xx and gateway) 40.0% ≥ 5.0%" in health
    compare = console.get("/analytics/?window=15m").content.decode()
    assert re.search(r'data-metric="gateway_errors">.*?<td data-environment="production">4</td>', compare)
