import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from analytics.models import RequestLog
from analytics.rollup import rollup
from analytics.selectors import encode_position
from tests.analytics.concurrency import make_logs

NOW = datetime.now(UTC).replace(microsecond=0)
REQUEST_ID = "0123456789abcdef0123456789abcdef"  # as long as a real one (a UUID's hex)


@pytest.fixture
def console(client, environments):
    user = get_user_model().objects.create_user("viewer", password="pw-for-tests-only")
    client.force_login(user)
    return client


@pytest.fixture
def logs(environments) -> list[RequestLog]:
    rows = RequestLog.objects.bulk_create(make_logs(30, start=NOW - timedelta(minutes=10)))
    rollup()
    return rows


def test_it_requires_a_login_for_pages_and_json(client, environments):
    for url in (
        "/analytics/",
        "/analytics/health/",
        "/analytics/requests/",
        "/analytics/requests/export.csv",
    ):
        assert client.get(url).status_code == 302, url
    assert client.get("/v1/analytics/environments").status_code == 401


def test_it_answers_one_json_object_per_environment(console, logs):
    body = console.get("/v1/analytics/environments?window=1h").json()
    by_env = {item["environment"]: item for item in body["data"]}
    assert set(by_env) == {"production", "staging", "development"}
    assert sum(item["total"] for item in body["data"]) == 30
    assert by_env["staging"]["color"] == "#d97706"
    assert body["meta"]["window"] == "1h"
    assert {"error_rate", "success_rate", "p50_ms", "p95_ms", "p99_ms", "rate_limited"} <= set(
        by_env["production"]
    )


def test_it_filters_json_by_route(console, logs):
    other = "00000000-0000-0000-0000-00000000abcd"
    body = console.get(f"/v1/analytics/environments?window=15m&route={other}").json()
    assert body["meta"]["route"] == other
    assert [item["total"] for item in body["data"]] == [0, 0, 0]


def test_it_shows_environments_side_by_side(console, logs):
    html = console.get("/analytics/?window=1h").content.decode()
    for name in ("production", "staging", "development"):
        assert f'<td data-environment="{name}">10</td>' in html
    assert "<svg" in html and 'stroke="#d97706"' in html


def test_it_renders_only_the_figures_for_live_refresh(console, logs):
    html = console.get("/analytics/?window=1h&partial=figures").content.decode()
    assert "<table" in html and "<html" not in html


def test_it_shows_health_cards_with_their_numbers(console, logs, settings):
    settings.ANALYTICS_HEALTH_THRESHOLDS = {
        "default": {},
        "staging": {"degraded_error_rate": 0.99, "down_error_rate": 1.0},
    }
    # Two minutes before now, not before NOW (import time): a long run must not push them out of the window.
    recent = datetime.now(UTC) - timedelta(minutes=2)
    RequestLog.objects.bulk_create(make_logs(30, start=recent, minutes=1, offset=100))
    rollup()
    html = console.get("/analytics/health/").content.decode()
    # 1 in 5 calls answers 500: production is Degraded by the default 5%; staging's override keeps it Healthy.
    assert 'data-environment="production"' in html and 'data-verdict="degraded"' in html
    assert 'data-verdict="healthy"' in html


def test_it_filters_orders_and_details_the_request_log(console, logs):
    html = console.get(
        "/analytics/requests/?environment=staging&status_class=5xx&order=oldest"
    ).content.decode()
    staging_500 = [r for r in logs if r.environment == "staging" and r.status == 500]
    assert _request_ids(html) == [
        r.request_id for r in sorted(staging_500, key=lambda r: (r.timestamp, r.pk))
    ]
    detail = console.get(f"/analytics/requests/{staging_500[0].request_id}/")
    assert detail.status_code == 200 and staging_500[0].request_id in detail.content.decode()
    assert console.get("/analytics/requests/nope/").status_code == 404


def test_it_exports_the_filtered_set_as_streamed_csv(console, logs):
    response = console.get("/analytics/requests/export.csv?environment=production&min_latency_ms=100")
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    wanted = [r for r in logs if r.environment == "production" and r.latency_ms >= 100]
    assert sorted(r["request_id"] for r in rows) == sorted(r.request_id for r in wanted)


@pytest.mark.parametrize(
    ("latency_ms", "shown"),
    [
        (0.4, "0.4 ms"),
        (0.04, "&lt; 0.1 ms"),
        (2.44, "2.4 ms"),
        (9.96, "10 ms"),
        (42.4, "42 ms"),
        (1210.0, "1210 ms"),
    ],
)
def test_it_shows_sub_millisecond_latency_in_the_request_log(console, latency_ms, shown):
    RequestLog.objects.create(
        request_id=REQUEST_ID,
        timestamp=NOW,
        environment="production",
        method="GET",
        path="/v1/balance",
        status=429,
        latency_ms=latency_ms,
        error_code="rate_limited",
    )
    html = console.get("/analytics/requests/").content.decode()
    assert f'<td class="num">{shown}</td>' in html
    # The whole request id, in a column that scrolls with the table instead of being cut off.
    link = f'<a class="mono small" href="/analytics/requests/{REQUEST_ID}/">{REQUEST_ID}</a>'
    assert f'<td class="col-request-id">{link}</td>' in html
    assert 'class="card card-flush table-scroll"' in html and 'class="table table-dense requests"' in html


def _request_ids(html: str) -> list[str]:
    return re.findall(r'href="/analytics/requests/(\w+)/"', html)


def _walk(console, query: str, direction: str, start: str = "") -> list[list[str]]:
    """Every page from `start`, following the Next (`after`) or Previous (`before`) links to the end."""
    pages, cursor = [], start
    while True:
        html = console.get(f"/analytics/requests/?{query}{cursor}").content.decode()
        pages.append(_request_ids(html))
        link = re.search(rf"&amp;{direction}=([\d.]+)\"", html)
        if not link:
            return pages
        cursor = f"&{direction}={link.group(1)}"


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_it_pages_the_request_log_by_position_both_ways_without_a_count(
    console, environments, order, django_assert_max_num_queries
):
    # Three calls per second: pages must break ties on id, or rows would repeat or vanish between pages.
    rows = RequestLog.objects.bulk_create(
        RequestLog(
            request_id=f"call{i:03d}",
            timestamp=NOW - timedelta(seconds=i // 3),
            environment="staging" if i % 5 else "production",
            method="GET",
            path="/p",
            status=200,
            latency_ms=1.0,
        )
        for i in range(300)
    )
    wanted = sorted((r for r in rows if r.environment == "staging"), key=lambda r: (r.timestamp, r.pk))
    wanted = [r.request_id for r in (reversed(wanted) if order == "newest" else wanted)]
    query = f"environment=staging&order={order}"

    forward = _walk(console, query, "after")
    assert [len(page) for page in forward] == [100, 100, 40]
    assert [call for page in forward for call in page] == wanted
    last_page = console.get(f"/analytics/requests/?{query}&after=").content.decode()
    assert "before=" not in last_page  # the first page has nothing above it
    end_row = next(r for r in rows if r.request_id == forward[-2][-1])
    backward = _walk(console, query, "before", f"&after={encode_position(end_row)}")
    assert backward == [forward[-1], forward[1], forward[0]]
    with django_assert_max_num_queries(12):  # no COUNT, however deep the page
        console.get(f"/analytics/requests/?{query}&after={encode_position(end_row)}")


def test_it_ignores_a_position_it_did_not_write(console, logs):
    html = console.get("/analytics/requests/?after=not-a-position").content.decode()
    assert len(_request_ids(html)) == 30
