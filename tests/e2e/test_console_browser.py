"""The console in a real browser: the Environment Overrides tab end to end, for each role."""

import json
import re

import pytest

from tests.e2e.conftest import SCREENSHOTS
from tests.support.console import PASSWORD

pytestmark = pytest.mark.e2e


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def send_test_request(page, environment: str, path: str) -> dict:
    from playwright.sync_api import expect

    page.get_by_label("Environment").select_option(environment)
    page.get_by_label("Path").fill(path)
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_test_id("status")).to_have_text("200")
    expect(page.get_by_test_id("request-id")).not_to_have_text("—")
    return json.loads(page.get_by_test_id("body").inner_text())


def test_it_lets_an_administrator_override_test_and_reset_a_field(console, new_page, upstream):
    from playwright.sync_api import expect

    url, route = console["url"], console["route"]
    page = new_page()
    page.goto(f"{url}/login/")
    shot(page, "01-login")
    sign_in(page, url, "administrator")
    shot(page, "02-home")
    page.goto(f"{url}/environments/")
    shot(page, "03-environments")
    page.goto(f"{url}/routes/")
    shot(page, "04-routes")
    page.goto(f"{url}/routes/{route.pk}/")
    shot(page, "05-route-overview")

    page.goto(f"{url}/routes/{route.pk}/overrides/")
    cell = page.locator("#cell-target_base_url-staging")
    expect(cell).to_have_attribute("data-state", "overridden")
    cell.get_by_role("link", name="Edit target_base_url in staging").click()
    field = cell.get_by_role("textbox", name="target_base_url in staging")
    expect(field).to_be_visible()
    shot(page, "06-overrides-editing")
    new_target = f"{upstream.url}/moved"
    field.fill(new_target)
    cell.get_by_role("button", name="Save").click()
    expect(cell).to_have_attribute("data-state", "overridden")
    expect(cell.locator(".cell-value")).to_have_text(new_target)
    expect(cell.get_by_text("Overridden")).to_be_visible()
    expect(page.locator("#cell-timeout_ms-staging")).to_have_attribute("data-state", "inherited")
    shot(page, "07-overrides")

    page.get_by_role("link", name="Test", exact=True).click()
    echoed = send_test_request(page, "staging", "/hello")
    assert echoed["path"] == "/moved/hello"
    shot(page, "08-test")

    page.goto(f"{url}/routes/{route.pk}/overrides/")
    cell = page.locator("#cell-target_base_url-staging")
    cell.get_by_role("button", name="Reset target_base_url in staging to inherit").click()
    expect(cell).to_have_attribute("data-state", "inherited")
    expect(cell.locator(".cell-value")).to_have_text(f"{upstream.url}/production")
    expect(cell.get_by_text("inherits from base")).to_be_visible()

    page.goto(f"{url}/routes/{route.pk}/test/")
    assert send_test_request(page, "staging", "/hello")["path"] == "/production/hello"

    page.goto(f"{url}/routes/{route.pk}/history/")
    expect(page.get_by_text("administrator").first).to_be_visible()
    shot(page, "09-history")
    page.goto(f"{url}/audit/")
    shot(page, "10-audit-log")


def test_it_shows_a_viewer_the_matrix_without_edit_controls_and_refuses_a_crafted_post(console, new_page):
    from playwright.sync_api import expect

    url, route = console["url"], console["route"]
    page = new_page()
    sign_in(page, url, "viewer")
    page.goto(f"{url}/routes/{route.pk}/overrides/")
    expect(page.locator("#override-matrix")).to_be_visible()
    expect(page.locator("#cell-target_base_url-staging")).to_have_attribute("data-state", "overridden")
    expect(page.locator("#override-matrix").get_by_role("link", name=re.compile("^Edit"))).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Reset"))).to_have_count(0)
    shot(page, "11-viewer-overrides")

    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{url}/routes/{route.pk}/overrides/staging/target_base_url/",
        form={"target_base_url-staging-value": "http://127.0.0.1:9/evil"},
        headers={"X-CSRFToken": csrf},
    )
    assert response.status == 403
    assert "Viewers can look but not change anything." in response.text()
    route.refresh_from_db()
    assert route.overrides.get(environment__name="staging").target_base_url.endswith("/staging")


def test_it_refuses_a_developer_a_production_change_with_a_clear_message(console, new_page):
    from playwright.sync_api import expect

    url, route = console["url"], console["route"]
    page = new_page()
    sign_in(page, url, "developer")
    page.goto(f"{url}/routes/{route.pk}/overrides/")
    staging = page.locator("#cell-target_base_url-staging")
    expect(staging.get_by_role("link", name=re.compile("^Edit"))).to_have_count(1)
    expect(page.locator("#cell-target_base_url-production").get_by_role("link")).to_have_count(0)

    # Straight to the production cell's form (what a bookmarked or shared link would do).
    response = page.goto(f"{url}/routes/{route.pk}/overrides/production/target_base_url/?edit=1")
    assert response.status == 403
    message = "production is protected: only an Administrator can change it."
    expect(page.get_by_role("alert")).to_contain_text(message)
    shot(page, "12-developer-refused")

    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(
        f"{url}/routes/{route.pk}/overrides/production/target_base_url/",
        form={"target_base_url-production-value": "http://127.0.0.1:9/p"},
        headers={"X-CSRFToken": csrf},
    )
    assert refused.status == 403
    assert "production is protected" in refused.text()

    # A base change that production inherits is refused too, with the reason on the route's page.
    page.goto(f"{url}/routes/{route.pk}/")
    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_contain_text("production is protected")
    expect(page.locator("h1 .status")).to_have_text("Enabled")
    expect(page.get_by_text("Target base URL")).to_be_visible()
    shot(page, "13-developer-refused-in-place")
    route.refresh_from_db()
    assert route.enabled is True
