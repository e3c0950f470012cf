"""Every console view × every role: the status code each one gets.

anon = not signed in (redirected to the login page), then Viewer, Developer, Administrator. A 403 comes from
the services' refusal (or a form page only editors may open); 302 after a POST is a change that was made.
"""

import pytest
from django.test import Client

from tests.support.console import make_user, seed_world

ROLES = ("anon", "viewer", "developer", "administrator")
R = "/routes/{route}/"
CELL = R + "overrides/{env}/target_base_url/"
NEW_TARGET = {"target_base_url-staging-value": "http://127.0.0.1:9/elsewhere"}

# (method, url, data, {role: status})
TABLE = [
    ("get", "/", None, (302, 200, 200, 200)),
    ("get", "/audit/?actor=system&resource=route", None, (302, 200, 200, 200)),
    ("get", "/theme/environments.css", None, (302, 200, 200, 200)),
    ("post", "/logout/", {}, (302, 302, 302, 302)),
    ("get", "/environments/", None, (302, 200, 200, 200)),
    ("get", "/environments/new/", None, (302, 403, 200, 200)),
    ("post", "/environments/new/", {"name": "qa", "color": "#123456"}, (302, 403, 302, 302)),
    ("post", "/environments/new/", {"name": "qa", "color": "#123456", "is_protected": "on"},
     (302, 403, 403, 302)),
    ("get", "/environments/staging/edit/", None, (302, 403, 200, 200)),
    ("get", "/environments/production/edit/", None, (302, 403, 403, 200)),
    ("post", "/environments/staging/edit/", {"color": "#000000"}, (302, 403, 302, 302)),
    ("post", "/environments/production/edit/", {"color": "#000000", "is_protected": "on"},
     (302, 403, 403, 302)),
    ("get", "/environments/development/delete/", None, (302, 403, 200, 200)),
    ("post", "/environments/development/delete/", {}, (302, 403, 302, 302)),
    ("post", "/environments/production/delete/", {}, (302, 403, 403, 400)),
    ("post", "/environments/staging/make-default/", {}, (302, 403, 403, 302)),
    ("get", "/routes/", None, (302, 200, 200, 200)),
    ("get", "/routes/?q=dem&enabled=yes&overrides=with", None, (302, 200, 200, 200)),
    ("get", "/routes/new/", None, (302, 403, 200, 200)),
    ("post", "/routes/new/", {"name": "Second", "target_base_url": "http://127.0.0.1:9/x",
                              "timeout_ms": "1000",
                              "rate_limit_requests": "10", "rate_limit_window_sec": "60",
                              "rate_limit_burst": "0", "inject_headers_json": "{}", "inject_body_json": "{}"},
     (302, 403, 302, 302)),
    ("get", R, None, (302, 200, 200, 200)),
    ("get", R + "edit/", None, (302, 403, 200, 200)),
    ("post", R + "duplicate/", {}, (302, 403, 302, 302)),
    ("post", R + "toggle/", {}, (302, 403, 403, 302)),
    ("get", R + "delete/", None, (302, 403, 200, 200)),
    ("post", R + "delete/", {}, (302, 403, 403, 302)),
    ("get", R + "overrides/", None, (302, 200, 200, 200)),
    ("get", R + "overrides/?left=staging&right=production", None, (302, 200, 200, 200)),
    ("get", CELL.replace("{env}", "staging"), None, (302, 302, 302, 302)),
    ("get", CELL.replace("{env}", "staging") + "?edit=1", None, (302, 403, 200, 200)),
    ("get", CELL.replace("{env}", "production") + "?edit=1", None, (302, 403, 403, 200)),
    ("post", CELL.replace("{env}", "staging"), NEW_TARGET, (302, 403, 302, 302)),
    ("post", CELL.replace("{env}", "production"),
     {"target_base_url-production-value": "http://127.0.0.1:9/p"}, (302, 403, 403, 302)),
    ("post", CELL.replace("{env}", "staging") + "reset/", {}, (302, 403, 302, 302)),
    ("get", R + "clients/", None, (302, 200, 200, 200)),
    ("get", R + "secrets/", None, (302, 200, 200, 200)),
    ("get", R + "test/", None, (302, 200, 200, 200)),
    ("post", R + "test/", {"environment": "staging", "method": "GET", "path": "/x"},
     (302, 403, 200, 200)),
    ("post", R + "test/", {"environment": "production", "method": "GET", "path": "/x"},
     (302, 403, 403, 200)),
    ("get", R + "history/", None, (302, 200, 200, 200)),
]


def _cases():
    for method, url, data, statuses in TABLE:
        for role, status in zip(ROLES, statuses, strict=True):
            yield pytest.param(method, url, data, role, status, id=f"{method} {url} {role}")


@pytest.mark.parametrize(("method", "url", "data", "role", "expected"), list(_cases()))
def test_it_answers_each_role_with_the_expected_status(db, settings, method, url, data, role, expected):
    settings.KNOXCALL_GATEWAY_URL = "http://127.0.0.1:9"  # closed port: the Test tab reports an error fast
    world = seed_world("http://127.0.0.1:9")
    client = Client()
    if role != "anon":
        client.force_login(make_user(role, password=None))
    url = url.format(route=world["route"].pk)
    response = client.get(url) if method == "get" else client.post(url, data)
    assert response.status_code == expected, response.content[:2000]
    if role == "anon" and url != "/logout/":
        assert response["Location"].startswith("/login/?next=")
