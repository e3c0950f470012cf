"""A rollback from the History tab in a real browser; then the gateway serves the restored revision."""

import re
import time

import httpx
import pytest

from core.audit import SYSTEM
from routing.models import RouteRevision
from routing.services import route_update
from tests.e2e.conftest import SCREENSHOTS, logged_in_context

pytestmark = pytest.mark.e2e


def test_an_administrator_rolls_back_from_the_history_tab(browser, console, upstream):
    from playwright.sync_api import expect

    url, route = console["url"], console["route"]
    target = RouteRevision.objects.filter(route_id=route.pk).order_by("-number").first()
    route_update(actor=SYSTEM, route=route, target_base_url=f"{upstream.url}/broken")
    context = logged_in_context(browser, url, console["users"]["administrator"])
    page = context.new_page()

    page.goto(f"/routes/{route.pk}/history/")
    row = page.locator(f"#revision-{target.number}")
    row.get_by_role("link", name="Roll back to this").click()
    changes = page.locator("#rollback-changes")
    expect(changes).to_contain_text("/broken")
    expect(changes).to_contain_text("/production")
    page.get_by_label("Reason").fill("the new target answers 500")
    page.screenshot(path=str(SCREENSHOTS / "route-rollback-preview.png"), full_page=True)
    page.get_by_role("button", name=f"Roll back to revision {target.number}").click()

    # The rollback is a deployment: its watch page comes next, with the one-click way back.
    page.wait_for_url(re.compile(rf"{re.escape(url)}/deployments/[0-9a-f-]{{36}}/$"))
    expect(page.get_by_role("status")).to_contain_text(f"Rolled back to revision {target.number}")
    expect(page.locator("h1")).to_contain_text(
        f"Rollback into every environment: Demo: back to revision {target.number}"
    )
    expect(page.locator("#watch")).to_be_visible()
    expect(page.get_by_role("button", name="Roll back")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "route-rollback-deployment.png"), full_page=True)

    page.get_by_role("link", name="Demo").first.click()
    newest = page.locator("#revisions tbody tr").first
    expect(newest).to_contain_text("rollback")
    expect(newest).to_contain_text(f"restores #{target.number}")
    expect(newest.get_by_role("link", name="Deployment page")).to_be_visible()
    latest = RouteRevision.objects.filter(route_id=route.pk).order_by("-number").first()
    assert latest.digest == target.digest
    context.close()

    # The gateway notices the configuration version within a second and serves the restored target.
    deadline, path = time.monotonic() + 1.0, None
    while time.monotonic() < deadline:
        upstream.clear()
        answer = httpx.get(f"{url}/x", headers={"x-knoxcall-route": "demo"}, timeout=5)
        path = upstream.received[-1].path if upstream.received else None
        if answer.status_code == 200 and path == "/production/x":
            break
        time.sleep(0.05)
    assert path == "/production/x"
