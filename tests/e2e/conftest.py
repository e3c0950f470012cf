"""Browser tests: Playwright driving Debian's chromium (never a downloaded browser) against the live gateway.

They skip, with the reason, when chromium or the playwright package is missing on a user's machine, and fail
instead under CI, where both must be present.
"""

import os
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.support.console import make_user, seed_world

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture(scope="module")
def browser(django_db_setup):
    if not Path(CHROMIUM).exists():
        require_service("chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service("playwright", "the playwright package is not installed (pip install -e '.[test]')")
    # Playwright's sync API keeps an event loop on the test thread; the tests' own ORM calls are still plain
    # synchronous code, so Django's async-safety guard would refuse them while the browser is open. The
    # guard is lifted for one browser module at a time and stays on for every other test.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def console(gateway_server, transactional_db, upstream):
    """The demo-like world served by the live gateway, and one user per role (password: PASSWORD)."""
    from routing.proxy import snapshot

    world = seed_world(upstream.url)
    world["users"] = {role: make_user(role) for role in ("administrator", "developer", "viewer")}
    world["url"] = gateway_server.url
    snapshot.refresh(force=True)
    SCREENSHOTS.mkdir(exist_ok=True)
    return world


@pytest.fixture
def new_page(browser):
    contexts = []

    def open_page():
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def logged_in_context(browser, base_url: str, user, width: int = 1440):
    """A browser context already holding a Django session for `user`."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": 900})
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])
    return context
