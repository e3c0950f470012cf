"""The Test tab calls the gateway itself, never whatever the request's Host header names."""

import secrets

import httpx
import pytest
from django.test import Client

from routing.tester import NO_GATEWAY_URL, bound_gateway_url
from tests.support.console import make_user, seed_world
from tests.support.upstream import RecordingUpstream


@pytest.fixture(scope="module")
def victim():
    """Another local service, on a port of its own, that the Test tab must never be aimed at."""
    return RecordingUpstream().start()


def signed_in_client(base_url: str, user) -> httpx.Client:
    """An httpx client of the live gateway carrying a console session and a CSRF token for `user`."""
    django_client = Client()
    django_client.force_login(user)
    csrf = secrets.token_hex(16)  # an unmasked 32-character secret is a valid token for its own cookie
    cookies = {"sessionid": django_client.cookies["sessionid"].value, "csrftoken": csrf}
    return httpx.Client(base_url=base_url, cookies=cookies, headers={"X-CSRFToken": csrf}, timeout=20)


def test_a_forged_host_header_cannot_aim_the_test_tab_at_another_port(gateway, upstream, victim, settings):
    settings.KNOXCALL_GATEWAY_URL = ""
    victim.clear()
    route = seed_world(upstream.url)["route"]
    gateway.reload()
    with signed_in_client(gateway.url, make_user("administrator", password=None)) as console:
        response = console.post(
            f"/routes/{route.pk}/test/",
            data={"environment": "staging", "method": "GET", "path": "/hello", "headers": "", "body": ""},
            headers={"Host": f"127.0.0.1:{victim.port}"},
        )
    assert response.status_code == 200, response.text[:2000]
    assert victim.received == []
    # The request went through the gateway, to the route's staging target, as the tab promises.
    assert [r.path for r in upstream.complete] == ["/staging/hello"]
    assert "x-knoxcall-route" not in {name.lower() for name, _ in upstream.complete[0].headers}


def test_without_an_asgi_server_address_it_asks_for_the_setting(db, settings, upstream):
    settings.KNOXCALL_GATEWAY_URL = ""
    route = seed_world(upstream.url)["route"]
    client = Client()  # Django's test client: no server socket, so nothing to call but a Host header
    client.force_login(make_user("administrator", password=None))
    response = client.post(
        f"/routes/{route.pk}/test/",
        {"environment": "staging", "method": "GET", "path": "/hello", "headers": "", "body": ""},
        HTTP_HOST=f"127.0.0.1:{upstream.port}",
    )
    assert response.status_code == 200
    assert "KNOXCALL_GATEWAY_URL" in response.content.decode()
    assert upstream.received == []


@pytest.mark.parametrize(
    ("scope", "url"),
    [
        ({"scheme": "http", "server": ("127.0.0.1", 8000)}, "http://127.0.0.1:8000"),
        ({"scheme": "https", "server": ("::1", 8443)}, "https://[::1]:8443"),
        ({"scheme": "http", "server": ("/run/knoxcall.sock", None)}, None),
        ({"scheme": "http"}, None),
        (None, None),
    ],
)
def test_the_bound_address_comes_from_the_asgi_scope(scope, url):
    assert bound_gateway_url(scope) == url
    assert "KNOXCALL_GATEWAY_URL" in NO_GATEWAY_URL
