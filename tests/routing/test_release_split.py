"""The release split's decisions, through the proxy with fake parts (no server, no database): which side a
call lands on, the forcing header, the response headers and the record. The stickiness and blue-green
acceptance tests run through real gateway processes (test_release_acceptance.py)."""

import dataclasses
import secrets

from knoxcall.lib.client_ip import parse_client_network
from routing.models import OVERRIDABLE_FIELDS, Route
from routing.proxy import ratelimit
from routing.proxy.ratelimit import MemoryLimiter, check_limits
from routing.proxy.split import sticky_bucket
from routing.table import ActiveRelease, resolve_route
from tests.support.proxy_harness import FakeUpstream, open_route, run, table_of

ORDERS = open_route("orders", "http://stable.test/v1")
NETWORK = parse_client_network("10.0.0.0/8")
RELEASE_ID = "3f2b8c1e-0000-4000-8000-000000000001"


def with_release(
    weight: float,
    sticky: str = "client_ip",
    header: str = "",
    allow_variant: bool = False,
    route: Route = ORDERS,
    **cand,
):
    table = table_of([route])
    base = {name: getattr(route, name) for name in OVERRIDABLE_FIELDS}
    candidate = resolve_route(
        base, route, "production", {"target_base_url": "http://candidate.test/v2", **cand}
    )
    release = ActiveRelease(
        release_id=RELEASE_ID,
        candidate=candidate,
        weight_percent=weight,
        threshold=int(weight / 100 * 2**64),
        salt=secrets.token_bytes(32),
        sticky=sticky,
        sticky_header=header.encode(),
        allow_variant_header=allow_variant,
    )
    return dataclasses.replace(table, releases={(str(route.pk), "production"): release})


def call(table, headers=None, client_ip="203.0.113.9", **options):
    upstream = FakeUpstream()
    answer = run(
        table,
        "/x",
        headers={"x-knoxcall-route": "orders", **(headers or {})},
        upstream=upstream,
        client_ip=client_ip,
        **options,
    )
    return answer, upstream.sent[0].url if upstream.sent else None


def test_weight_100_sends_every_call_to_the_candidate_and_says_so():
    answer, url = call(with_release(100.0))
    assert url == "http://candidate.test/v2/x"
    assert (answer.headers["x-knoxcall-release"], answer.headers["x-knoxcall-variant"]) == (
        RELEASE_ID,
        "candidate",
    )
    (record,) = answer.records
    assert (record.release_id, record.variant, record.upstream_host) == (
        RELEASE_ID,
        "candidate",
        "candidate.test",
    )


def test_weight_0_keeps_everyone_on_stable_with_the_release_named():
    answer, url = call(with_release(0.0))
    assert url == "http://stable.test/v1/x"
    assert answer.headers["x-knoxcall-variant"] == "stable"
    assert answer.records[0].variant == "stable"


def test_without_a_release_there_are_no_release_headers():
    answer, _ = call(table_of([ORDERS]), {"x-knoxcall-variant": "candidate"})
    assert "x-knoxcall-release" not in answer.headers and "x-knoxcall-variant" not in answer.headers
    assert (answer.records[0].release_id, answer.records[0].variant) == ("", "")


def test_the_variant_header_forces_a_side_only_when_the_release_allows_it_and_never_leaves():
    allowed = with_release(0.0, allow_variant=True)
    answer, url = call(allowed, {"x-knoxcall-variant": "candidate"})
    assert url == "http://candidate.test/v2/x" and answer.headers["x-knoxcall-variant"] == "candidate"
    upstream = FakeUpstream()
    run(
        allowed,
        "/x",
        headers={"x-knoxcall-route": "orders", "x-knoxcall-variant": "candidate"},
        upstream=upstream,
    )
    assert "x-knoxcall-variant" not in upstream.sent[0].headers
    _, url = call(with_release(100.0, allow_variant=True), {"x-knoxcall-variant": "stable"})
    assert url == "http://stable.test/v1/x"
    _, url = call(with_release(0.0, allow_variant=False), {"x-knoxcall-variant": "candidate"})
    assert url == "http://stable.test/v1/x"
    refused, url = call(allowed, {"x-knoxcall-variant": "green"})
    assert (refused.status, refused.json()["code"], url) == (400, "bad_request", None)


def test_a_sticky_header_keeps_a_caller_on_one_side():
    table = with_release(50.0, sticky="header", header="x-user-id")
    sides = {user: call(table, {"x-user-id": user})[1] for user in map(str, range(40))}
    again = {user: call(table, {"x-user-id": user})[1] for user in map(str, range(40))}
    assert sides == again
    assert len(set(sides.values())) == 2  # 40 users at 50 %: both sides have some (1 in 2**39 to fail)


def test_the_candidate_keeps_its_own_timeout_and_the_stable_access_rules():
    table = with_release(100.0, timeout_ms=1234)
    release = table.releases[(str(ORDERS.pk), "production")]
    assert release.candidate.timeout_seconds == 1.234
    guarded = dataclasses.replace(table, client_networks={(str(ORDERS.pk), "production"): (NETWORK,)})
    answer, url = call(guarded)
    assert (answer.status, url) == (401, None)  # refused before any side is chosen
    assert "x-knoxcall-variant" not in answer.headers
    answer, url = call(guarded, client_ip="10.1.2.3")
    assert url == "http://candidate.test/v2/x"


def test_raising_the_weight_only_adds_callers():
    salt = secrets.token_bytes(32)
    keys = [f"key-{i}".encode() for i in range(2000)]
    at = {w: {k for k in keys if sticky_bucket(salt, k) < int(w / 100 * 2**64)} for w in (5, 25, 50, 100)}
    assert at[5] <= at[25] <= at[50] <= at[100] and len(at[100]) == 2000
    other = secrets.token_bytes(32)
    fresh = {k for k in keys if sticky_bucket(other, k) < int(5 / 100 * 2**64)}
    assert len(fresh & at[5]) < len(at[5]) / 2  # a new salt draws a new cohort


def _user_on(release: ActiveRelease, side: str) -> str:
    """An x-user-id that the release's sticky split sends to `side`."""
    on_candidate = side == "candidate"
    users = map(str, range(1000))
    return next(
        u for u in users if (sticky_bucket(release.salt, u.encode()) < release.threshold) == on_candidate
    )


def test_both_sides_count_against_one_rate_limit_and_alternating_works_out_no_limits_again(monkeypatch):
    limiter = MemoryLimiter()  # one for every call (each runs in an event loop of its own)
    monkeypatch.setattr(ratelimit, "get_limiter", lambda: limiter)
    worked_out = []
    work_out = ratelimit._work_out_limits
    monkeypatch.setattr(ratelimit, "_work_out_limits", lambda r, k: worked_out.append(r) or work_out(r, k))
    metered = open_route(
        "metered",
        "http://stable.test/v1",
        rate_limit_enabled=True,
        rate_limit_requests=4,
        rate_limit_window_sec=86_400,
    )
    table = with_release(50.0, sticky="header", header="x-user-id", route=metered)
    release = table.releases[(str(metered.pk), "production")]
    user = {side: _user_on(release, side) for side in ("stable", "candidate")}

    answers = [
        call(table, {"x-knoxcall-route": "metered", "x-user-id": user[side]}, limit=check_limits)[0]
        for side in ("stable", "candidate") * 3
    ]

    assert [a.headers.get("x-knoxcall-variant") for a in answers[:4]] == ["stable", "candidate"] * 2
    assert [a.status for a in answers] == [200, 200, 200, 200, 429, 429]  # the 5th call, on either side
    assert [a.headers["x-ratelimit-limit"] for a in answers] == ["4"] * 6
    assert [a.headers["x-ratelimit-remaining"] for a in answers[:4]] == ["3", "2", "1", "0"]
    assert len(worked_out) == 1  # checked on the stable object before a side is picked; never again
