"""Charts: round axes, hover values, an x axis that starts with the traffic, status classes stacked once."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from analytics.charts import Band, first_step_with_data, line_chart, nice_ticks, stacked_bar_chart
from analytics.models import RequestLog
from analytics.rollup import rollup
from tests.alerts.conftest import add_traffic

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STARTS = [START + timedelta(minutes=i) for i in range(6)]


@pytest.fixture
def console(client, environments):
    client.force_login(get_user_model().objects.create_user("viewer", password="pw-for-tests-only"))
    return client


@pytest.mark.parametrize(
    ("highest", "ticks"),
    [
        (50, [0, 20, 40, 60]),
        (100, [0, 25, 50, 75, 100]),
        (7.8, [0, 2, 4, 6, 8]),
        (0.3, [0, 0.1, 0.2, 0.3]),
        (0, [0, 0.25, 0.5, 0.75, 1]),
    ],
)
def test_it_labels_the_y_axis_with_round_values(highest, ticks):
    assert nice_ticks(highest) == ticks


def test_it_starts_the_x_axis_at_the_first_step_with_traffic():
    assert first_step_with_data([0, 0, 0, 5, 0, 7]) == 3
    assert first_step_with_data([0, 0, 0, 0, 0, 7]) == 4  # still two steps to draw a line between
    assert first_step_with_data([0, 0, 0]) == 0


def test_it_puts_every_environments_value_in_the_hover_of_a_step():
    chart = line_chart(
        "P95",
        STARTS,
        [
            ("production", "Production", "#dc2626", [10, None, 30, 30, 30, 30]),
            ("qa", "QA", "#2563eb", [5, 6, 7, 8, None, 9]),
        ],
        fmt=lambda v: f"{v:.0f} ms",
    )
    assert chart.steps[0].tip == "Jan 05, 09:00 UTC\nProduction: 10 ms\nQA: 5 ms"
    assert chart.steps[1].tip == "Jan 05, 09:01 UTC\nQA: 6 ms"  # no P95 where there was no traffic
    assert [d.color for d in chart.steps[0].dots] == ["#dc2626", "#2563eb"]
    # The gap breaks the line; the lone point before it is still drawn, as a dot.
    production = chart.lines[0]
    assert len(production.segments) == 1 and len(production.singles) == 1
    # Hover bands tile the plot without gaps or overlaps.
    edges = [(s.x, round(s.x + s.width, 1)) for s in chart.steps]
    assert all(a[1] == b[0] for a, b in zip(edges, edges[1:], strict=False))


def test_it_stacks_status_classes_bottom_up_with_the_calls_in_the_hover():
    bands = [Band("2xx", "band-2xx", [8, 0, 0, 0, 0, 9]), Band("5xx", "band-5xx", [2, 0, 0, 0, 0, 1])]
    chart = stacked_bar_chart("Production", STARTS, bands)
    first = [b for b in chart.bars if b.x < chart.steps[1].x]
    assert [b.css_class for b in first] == ["band-2xx", "band-5xx"]
    assert first[1].y + first[1].height == pytest.approx(first[0].y, abs=0.2)  # 5xx sits on top of 2xx
    assert chart.steps[0].tip == "Jan 05, 09:00 UTC · 10 calls\n2xx: 8\n5xx: 2"
    assert chart.legend == [("2xx", "band-2xx"), ("5xx", "band-5xx")]


def test_it_counts_a_gateway_error_in_one_band_only(console):
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=2)
    calls = [(200, ""), (404, ""), (500, ""), (405, "method_not_allowed"), (429, "rate_limited")]
    RequestLog.objects.bulk_create(
        RequestLog(
            request_id=f"r{i}",
            timestamp=minute + timedelta(seconds=i),
            environment="staging",
            method="GET",
            path="/",
            status=status,
            latency_ms=5.0,
            error_code=code,
        )
        for i, (status, code) in enumerate(calls)
    )
    rollup()
    html = console.get("/analytics/health/").content.decode()
    staging = html[html.index("status-chart env-staging") :].split("</figure>")[0]
    # The gateway's 405 is drawn once, as a gateway error; the refused 429 is the caller's 4xx.
    assert "5 calls\n2xx: 1\n4xx: 2\n5xx: 1\nGateway errors: 1" in staging


def test_it_draws_a_status_class_chart_per_environment_on_the_health_page(console):
    now = timezone.now()
    for minute in range(1, 11):  # ten minutes of traffic in the last hour's charts
        add_traffic("staging", total=12, errors_5xx=2, minute=now - timedelta(minutes=minute))
    html = console.get("/analytics/health/").content.decode()

    assert html.count('class="chart card status-chart env-') == 3
    staging = html[html.index("status-chart env-staging") :].split("</figure>")[0]
    assert "calls per minute by status" in staging
    assert staging.count('class="bar band-2xx"') == 10 and staging.count('class="bar band-5xx"') == 10
    assert "12 calls\n2xx: 10\n5xx: 2" in staging
    # The axis starts where the traffic starts, not an hour back.
    steps = re.findall(r'<g class="step" data-tip="([^"]+)"', staging)
    assert len(steps) <= 12 and "10 calls" not in steps[0] and "12 calls" in steps[0]
    fragment = console.get("/analytics/health/?partial=cards").content.decode()
    assert "status-chart" in fragment  # the live refresh redraws them too


def test_it_shows_requests_per_minute_from_the_first_traffic_on_compare(console):
    now = timezone.now()
    for minute in range(0, 20):  # twenty minutes of a 24 h window
        add_traffic("production", total=30, minute=now - timedelta(minutes=minute))
    html = console.get("/analytics/?window=24h").content.decode()

    chart = html[html.index("Requests per minute") :].split("</figure>")[0]
    tips = re.findall(r'data-tip="([^"]+)"', chart)
    assert 2 <= len(tips) <= 3  # 15-minute steps from the first traffic, not 96 steps of a day
    # Per minute, so the last, still-filling step does not drop: it divides by the minutes it has had.
    assert "production: 30\n" in tips[-1] and "production: 0\n" not in tips[0]
