"""Brute-force protection of the admin and console logins, keyed by the trusted client IP."""

import pytest
from django.core.cache import cache
from django.test import override_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    # Per hour: slow password hashing must not let the attempts straddle a window boundary.
    with override_settings(LOGIN_THROTTLE_RATE="3/h"):
        yield
    cache.clear()


def attempt(client, **meta):
    return client.post("/admin/login/", {"username": "admin", "password": "wrong"}, **meta)


def test_it_refuses_logins_past_the_rate_from_one_ip(client):
    codes = [attempt(client, REMOTE_ADDR="192.0.2.1").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert attempt(client, REMOTE_ADDR="192.0.2.2").status_code == 200  # another caller is not affected


def test_it_throttles_the_console_login_too():
    from django.test import Client

    client = Client(enforce_csrf_checks=False)
    codes = [
        client.post(
            "/login/", {"username": "admin", "password": "wrong"}, REMOTE_ADDR="192.0.2.9"
        ).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]


def test_it_ignores_forwarded_for_from_an_untrusted_peer(client):
    codes = [
        attempt(client, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code
        for i in range(4)
    ]
    assert codes[-1] == 429  # rotating a spoofed header does not reset the count


@override_settings(TRUSTED_PROXIES=["10.0.0.1"])
def test_it_counts_the_caller_behind_a_trusted_proxy(client):
    for _ in range(3):
        attempt(client, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert attempt(client, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    assert attempt(client, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 200


def test_it_leaves_the_login_page_itself_alone(client):
    for _ in range(5):
        attempt(client, REMOTE_ADDR="192.0.2.9")
    assert client.get("/admin/login/", REMOTE_ADDR="192.0.2.9").status_code == 200
