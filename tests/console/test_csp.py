"""The console is CSP-strict: the policy is sent, and no page carries an inline script or style."""

import re

from django.test import Client

from tests.support.console import make_user, seed_world


def test_it_sends_a_strict_content_security_policy_and_no_inline_code(db):
    route = seed_world("http://127.0.0.1:9")["route"]
    client = Client()
    client.force_login(make_user("administrator", password=None))
    pages = [
        "/",
        "/environments/",
        "/routes/",
        f"/routes/{route.pk}/",
        f"/routes/{route.pk}/overrides/",
        f"/routes/{route.pk}/test/",
        f"/routes/{route.pk}/history/",
        f"/deployments/routes/{route.pk}/releases/",
        "/audit/",
    ]
    for url in pages:
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\sstyle=", html), url
        assert not re.search(r"\son[a-z]+=", html), url
        assert not re.search(r"\shx-on", html), url


def test_it_serves_environment_colours_as_a_stylesheet(db):
    seed_world("http://127.0.0.1:9")
    client = Client()
    client.force_login(make_user("viewer", password=None))
    response = client.get("/theme/environments.css")
    assert response["Content-Type"].startswith("text/css")
    assert ".env-staging{--env:#d97706}" in response.content.decode()
