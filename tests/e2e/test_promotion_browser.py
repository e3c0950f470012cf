"""A promotion end to end in a real browser with two Administrators: Alice proposes staging → production and
ticks the checklist, may not approve her own, Bob approves, Alice applies; the gateway then serves
production's new behaviour, and the deployment page rolls it back in one click."""

import pytest

from core.audit import SYSTEM
from environments.models import Environment
from environments.services import environment_update
from routing.services import route_override_update
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_console_browser import sign_in
from tests.support.console import make_user

pytestmark = pytest.mark.e2e


def _production_header(console) -> str | None:
    import httpx

    from routing.proxy import snapshot

    snapshot.refresh(force=True)
    response = httpx.get(
        f"{console['url']}/x", headers={"x-knoxcall-route": "demo", "x-knoxcall-environment": "production"}
    )
    assert response.status_code == 200
    return response


def test_two_administrators_promote_staging_to_production(console, new_page, upstream):
    from playwright.sync_api import expect

    envs, route, url = console["environments"], console["route"], console["url"]
    route_override_update(
        actor=SYSTEM, route=route, environment=envs["staging"], inject_headers_json={"X-Release": "2"}
    )
    environment_update(
        actor=SYSTEM,
        environment=Environment.objects.get(name="production"),
        checklist=[{"key": "stakeholder_approval", "label": "Stakeholder approval received"}],
    )
    make_user("administrator", username="bob")

    alice = new_page()
    sign_in(alice, url, "administrator")
    alice.goto(f"{url}/deployments/?source=staging&target=production")
    plan = alice.locator('[data-route="demo"]')
    expect(plan.locator("tr.will-change")).to_contain_text("inject_headers_json")
    expect(plan.locator("tr.expected")).to_contain_text("target_base_url")
    expect(plan.locator("ul.pinned")).to_contain_text("development.inject_headers_json")
    alice.get_by_label("Title").fill("Release 2")
    alice.get_by_role("button", name="Propose promotion").click()
    expect(alice.locator("#promotion-status")).to_have_text("Pending")
    alice.get_by_label("Stakeholder approval received").check()
    alice.get_by_role("button", name="Save checklist").click()
    expect(alice.locator('[data-key="stakeholder_approval"]')).to_contain_text("ticked by administrator")
    alice.get_by_role("button", name="Approve").click()
    expect(alice.get_by_role("alert")).to_contain_text("other than its requester")
    alice.get_by_role("button", name="Apply").click()
    expect(alice.get_by_role("alert")).to_contain_text("approval")
    promotion_url = alice.url.split("/approve/")[0].split("/apply/")[0]
    alice.screenshot(path=str(SCREENSHOTS / "promotion-waiting.png"), full_page=True)

    bob = new_page()
    sign_in(bob, url, "bob")
    bob.goto(f"{url}/deployments/approvals/")
    bob.get_by_role("link", name="Release 2").click()
    bob.get_by_role("button", name="Approve").click()
    expect(bob.locator("#promotion-status")).to_have_text("Approved")

    alice.goto(promotion_url)
    alice.get_by_role("button", name="Apply").click()
    expect(alice.locator("#promotion-status")).to_have_text("Applied")
    upstream.clear()
    _production_header(console)
    assert upstream.complete[-1].header("X-Release") == "2"

    alice.get_by_role("link", name="Promotion deployment").click()
    expect(alice.locator("#watch")).to_be_visible()
    alice.screenshot(path=str(SCREENSHOTS / "deployment-watch.png"), full_page=True)
    alice.get_by_role("button", name="Roll back").click()
    expect(alice.locator("h1")).to_contain_text("Rollback into production")
    upstream.clear()
    _production_header(console)
    assert upstream.complete[-1].header("X-Release") is None
