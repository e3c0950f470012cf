"""The proxy's per-call shortcuts decide exactly as the long way: fast paths, caches and one-pass checks."""

import pytest

from knoxcall.lib.client_ip import ip_in_networks, normalise_ip, parse_networks, resolve_client_ip
from routing.access_table import KeyInfo
from routing.models import OVERRIDABLE_FIELDS
from routing.proxy import ratelimit
from routing.proxy.framing import refusal
from routing.proxy.paths import UnsafePathError, check_path
from routing.proxy.ratelimit import limits_for
from routing.table import ResolvedRoute, resolve_route
from tests.support.proxy_harness import open_route


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


KEY = KeyInfo(id="k1", name="ops", may_invoke=True, rate_limit_requests=5, rate_limit_window_sec=10)
METERED = open_route("metered", rate_limit_enabled=True, rate_limit_window_sec=60)


def _route(requests: int, **candidate) -> ResolvedRoute:
    """A freshly resolved (metered, staging), as a new table holds it; `candidate`: a release's side."""
    base = {name: getattr(METERED, name) for name in OVERRIDABLE_FIELDS}
    return resolve_route({**base, "rate_limit_requests": requests}, METERED, "staging", candidate)


def test_it_reuses_the_limits_of_the_same_route_and_key_and_works_out_a_new_tables_afresh():
    route = _route(100)
    first = limits_for(route, KEY)
    assert limits_for(route, KEY) is first
    assert [(limit.name, limit.limit, limit.window) for limit in first] == [
        (f"route:{METERED.pk}:staging", 100, 60),
        ("key:k1", 5, 10),
    ]
    changed = limits_for(_route(7), KEY)  # the next table's object for the same pair, with a new limit
    assert [limit.limit for limit in changed] == [7, 5]
    assert [limit.limit for limit in limits_for(_route(7), None)] == [7]


def test_a_releases_two_sides_keep_their_own_limits_memo_and_the_same_limits(monkeypatch):
    worked_out = []
    work_out = ratelimit._work_out_limits
    monkeypatch.setattr(ratelimit, "_work_out_limits", lambda r, k: worked_out.append(r) or work_out(r, k))
    stable, candidate = _route(100), _route(100, target_base_url="http://candidate.test/v2")

    sides = [limits_for(side, KEY) for side in (stable, candidate) * 4]

    assert worked_out == [stable, candidate]  # once per side, however the calls alternate
    assert all(limits == sides[0] for limits in sides)  # one counter, one limit: who is limited stays


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
