"""Swagger UI and Redoc of /v1 render in a real browser under the console's CSP, from our origin only."""

import pytest

pytestmark = pytest.mark.e2e


def open_docs(browser, base_url: str, path: str):
    page = browser.new_page()
    problems, origins = [], set()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: origins.add(r.url.split("/", 3)[2]))
    page.goto(f"{base_url}{path}")
    return page, problems, origins


def test_it_renders_swagger_ui_without_csp_violations(browser, gateway_server, gateway):
    page, problems, origins = open_docs(browser, gateway_server.url, "/v1/docs")
    page.wait_for_selector("text=KnoxCall management API", timeout=15000)
    page.get_by_text("Every environment (not paginated).").first.wait_for(state="attached", timeout=15000)
    assert origins == {gateway_server.url.split("/", 3)[2]}  # no CDN
    assert not [p for p in problems if "Content Security Policy" in p], problems
    page.close()


def test_it_renders_redoc_without_csp_violations(browser, gateway_server, gateway):
    page, problems, origins = open_docs(browser, gateway_server.url, "/v1/redoc")
    page.wait_for_selector("text=KnoxCall management API", timeout=15000)
    page.get_by_text("Every environment (not paginated).").first.wait_for(state="attached", timeout=15000)
    assert origins <= {gateway_server.url.split("/", 3)[2]}  # nothing served from elsewhere
    # Only Redoc's footer logo (an <img> on cdn.redoc.ly) is refused, which changes nothing on the page.
    refused = [p for p in problems if "Content Security Policy" in p and "cdn.redoc.ly" not in p]
    assert not refused, problems
    page.close()
