"""The pure half of region groups: which member is preferred and served, and the breaker's backoff."""

from knoxcall.lib.client_ip import parse_client_network
from routing.regions import Member, MemberBreakers, RegionGroup, choose_member

US, EU = Member("prod-us", "us", False), Member("prod-eu", "eu", False)
GROUP = RegionGroup("prod", (US, EU))
NETWORKS = {"eu": (parse_client_network("10.20.0.0/16"),)}


def _choose(hint="", ip="192.0.2.1", down=(), locked=False):
    return choose_member(GROUP, hint, ip, NETWORKS, lambda m: m.name in down, locked)


def test_it_prefers_the_hint_then_the_network_then_the_first_member():
    assert _choose(hint="us", ip="10.20.1.1").serving == "prod-us"
    assert _choose(ip="10.20.1.1").serving == "prod-eu"
    assert _choose().serving == "prod-us"
    assert _choose(hint="nowhere").serving == "prod-us"


def test_it_fails_over_to_the_next_healthy_member_unless_the_route_is_locked():
    moved = _choose(ip="10.20.1.1", down={"prod-eu"})
    assert (moved.serving, moved.failover_from) == ("prod-us", "prod-eu")
    locked = _choose(ip="10.20.1.1", down={"prod-eu"}, locked=True)
    assert locked.unavailable and locked.serving == "prod-eu"
    everyone = _choose(down={"prod-eu", "prod-us"})
    assert (everyone.serving, everyone.failover_from, everyone.unavailable) == ("prod-us", "", False)


def test_the_breaker_opens_after_the_threshold_and_doubles_its_retry_up_to_the_cap(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("routing.regions.time.monotonic", lambda: now[0])
    breakers = MemberBreakers()
    for _ in range(4):
        breakers.failed("prod-eu", 5, 30, 300)
    assert not breakers.is_open("prod-eu")
    breakers.failed("prod-eu", 5, 30, 300)
    assert breakers.is_open("prod-eu") and not breakers.is_open("prod-eu", now=1030.0)
    backoffs = []
    for _ in range(6):  # each retry that fails again waits twice as long, up to 5 minutes
        now[0] += 1000
        breakers.failed("prod-eu", 5, 30, 300)
        backoffs.append(breakers._states["prod-eu"].backoff)
    assert backoffs == [60, 120, 240, 300, 300, 300]
    breakers.succeeded("prod-eu")
    assert not breakers.is_open("prod-eu")
