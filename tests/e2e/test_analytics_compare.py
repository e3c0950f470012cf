import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from analytics import histogram
from analytics.rollup import rollup
from core.audit import SYSTEM
from routing.services import route_create
from tests.analytics.traffic import MIX, SLOW_MS, send_mix, wait_for_logs
from tests.e2e.conftest import logged_in_context
from tests.support.access import allow_local_callers

pytestmark = pytest.mark.e2e


def _cell(page, metric: str, environment: str):
    return page.locator(f'tr[data-metric="{metric}"] td[data-environment="{environment}"]')


def test_it_compares_three_environments_and_updates_live_without_reload(browser, gateway, upstream):
    allow_local_callers(route_create(actor=SYSTEM, name="Mix", slug="mix", target_base_url=upstream.url))
    gateway.reload()
    sent = send_mix(gateway, "mix")
    wait_for_logs(sent)
    rollup()
    user = get_user_model().objects.create_user("qa", password="pw-for-tests-only")
    context = logged_in_context(browser, gateway.url, user)
    page = context.new_page()
    page.goto("/analytics/?window=1h")

    expect(page.locator("thead th[data-environment]")).to_have_count(3)
    for env, volume, error_rate in (
        ("production", 20, "5.0%"),
        ("staging", 30, "13.3%"),
        ("development", 40, "15.0%"),
    ):
        expect(_cell(page, "volume", env)).to_have_text(str(volume))
        expect(_cell(page, "error_rate", env)).to_have_text(error_rate)
        slow = histogram.bucket_index(SLOW_MS[env])
        assert _cell(page, "p95", env).inner_text() in [
            f"{b:.0f} ms" for b in histogram.BOUNDS_MS[slow : slow + 2]
        ]
    expect(page.locator("svg polyline[stroke='#d97706']").first).to_be_attached()
    expect(page.locator("body")).to_have_attribute("data-live", "connected")
    page.evaluate("window.__sameDocument = true")

    more = {"production": [("/echo", 200, 5)], "staging": [("/status/500", 500, 2)]}
    sent += send_mix(gateway, "mix", more)
    wait_for_logs(sent)
    rollup()

    expect(_cell(page, "volume", "production")).to_have_text("25", timeout=15_000)
    expect(_cell(page, "volume", "staging")).to_have_text("32")
    expect(_cell(page, "error_rate", "staging")).to_have_text("18.8%")
    assert page.evaluate("window.__sameDocument") is True
    assert set(MIX) == {"production", "staging", "development"}
    context.close()
