"""The proxy's per-call shortcuts decide exactly as the long way: fast paths, caches and one-pass checks."""

from types import SimpleNamespace

import pytest

from knoxcall.lib.client_ip import ip_in_networks, normalise_ip, parse_networks, resolve_client_ip
from routing.access_table import KeyInfo
from routing.proxy.framing import refusal
from routing.proxy.paths import UnsafePathError, check_path
from routing.proxy.ratelimit import limits_for


def test_it_passes_a_plain_path_unchanged():
    assert check_path("/api/users/42/orders.json") == "/api/users/42/orders.json"
    assert check_path("/a/b.c/d..e/") == "/a/b.c/d..e/"  # dots inside a segment are not dot segments


@pytest.mark.parametrize(
    "path",
    [
        "/a/./b",
        "/a/../b",
        "/a/..;jsessionid=1/b",
        "/a/%2e%2E/b",
        "/a/%252e%252e/b",
        "/a%2fb",
        "/a\\b",
        "/a\x00",
    ],
)
def test_it_still_refuses_each_way_out_of_the_base_path(path):
    with pytest.raises(UnsafePathError):
        check_path(path)


def _route(requests: int, route_id: str = "r1") -> SimpleNamespace:
    config = {"rate_limit_enabled": True, "rate_limit_requests": requests, "rate_limit_burst": 0}
    return SimpleNamespace(
        route_id=route_id, environment="staging", config={**config, "rate_limit_window_sec": 60}
    )


def test_it_reuses_the_limits_of_the_same_route_and_key_and_works_out_a_new_tables_afresh():
    key = KeyInfo(id="k1", name="ops", may_invoke=True, rate_limit_requests=5, rate_limit_window_sec=10)
    route = _route(100)
    first = limits_for(route, key)
    assert limits_for(route, key) is first
    assert [(limit.name, limit.limit, limit.window) for limit in first] == [
        ("route:r1:staging", 100, 60),
        ("key:k1", 5, 10),
    ]
    changed = limits_for(_route(7), key)  # the next table's object for the same pair, with a new limit
    assert [limit.limit for limit in changed] == [7, 5]
    assert [limit.limit for limit in limits_for(_route(7), None)] == [7]


def _scope(headers: list[tuple[bytes, bytes]]) -> dict:
    return {"http_version": "1.1", "method": "GET", "headers": [(b"host", b"gw.test"), *headers]}


def test_it_refuses_a_bad_field_name_or_value_with_its_reason_and_passes_good_ones():
    assert refusal(_scope([(b"x-ok", b"tab\tand obs-text \xff")]), 100) is None
    bad_name = refusal(_scope([(b"x bad", b"v")]), 100)
    assert bad_name is not None and "not a token" in bad_name.message
    bad_value = refusal(_scope([(b"x-ok", b"line\nbreak")]), 100)
    assert bad_value is not None and "control character" in bad_value.message
    assert refusal(_scope([(b"x-ok", b"del\x7f")]), 100) is not None


def test_it_parses_addresses_the_same_way_when_cached():
    for _ in range(2):  # the second round is served from the cache
        assert str(normalise_ip("::ffff:192.0.2.7")) == "192.0.2.7"
        assert normalise_ip("not an address") is None
        assert (
            resolve_client_ip("10.0.0.1", ["203.0.113.9"], parse_networks(("10.0.0.0/8",))) == "203.0.113.9"
        )
        assert ip_in_networks("192.0.2.7", parse_networks(("192.0.2.0/24",)))
