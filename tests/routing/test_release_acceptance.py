"""Issue 15's acceptance for the split, through two real gateway processes and a recording upstream:
stickiness by API key (the same cohort on every repeat and in both processes, growing only as the weight
rises, empty after abort) and blue-green switches under 64 concurrent connections.

Waiting for a process to serve a change uses a probe whose answer the change decides (a key the salt puts
between the old and new weight), never a fixed sleep.
"""

import asyncio
import threading
import time
from typing import NamedTuple

import httpx
import pytest

from core.audit import SYSTEM, bump_config_version
from environments.api_keys import generate_api_key, hash_api_key
from environments.models import ApiKey
from routing import releases
from routing.models import Release
from routing.proxy.split import sticky_bucket
from routing.services import route_create
from tests.support.access import allow_local_callers
from tests.support.gateway import run_in_fresh_loop
from tests.support.gateway_process import GatewayProcess

CALLERS = 2000
CONCURRENCY = 32
SETTLE = 1.0  # seconds after a switch commits from which every new call must land on the new side
PHASE = 2.0  # seconds between switches


@pytest.fixture
def two_gateways(environments):
    gateways = [GatewayProcess().start(), GatewayProcess().start()]
    yield gateways
    for gateway in gateways:
        gateway.stop()


def _keys(n: int) -> dict[str, str]:
    """n invoking API keys, raw key -> key id. Inserted in one statement (2,000 audited creates would take
    most of the test), then one version bump so the gateways load them."""
    raws = [generate_api_key(live=False) for _ in range(n)]
    rows = [
        ApiKey(name=f"caller-{i}", display_prefix=raw[:12], key_hash=hash_api_key(raw), role="viewer")
        for i, raw in enumerate(raws)
    ]
    ApiKey.objects.bulk_create(rows)
    bump_config_version()
    return {raw: str(row.pk) for raw, row in zip(raws, rows, strict=True)}


def _expected(release: Release, key_ids: dict[str, str], weight: float) -> set[str]:
    threshold = int(weight / 100 * 2**64)
    salt = bytes.fromhex(release.salt)
    return {raw for raw, key_id in key_ids.items() if sticky_bucket(salt, key_id.encode()) < threshold}


async def _sides(url: str, raws: list[str | None], strict: bool = True) -> dict[str | None, str]:
    """Each key's side as the gateway answered it ("" when no release was served; None: a call without a
    key, admitted by its loopback address). Not strict: a refusal (a process that has not yet loaded the
    route's clients) answers its status instead of failing."""
    limit = asyncio.Semaphore(CONCURRENCY)
    # Idle connections are dropped after 2 s, before the gateway's 5 s keep-alive timeout can close one
    # just as a call is sent on it (a stall of the loaded machine would otherwise read as a reset).
    limits = httpx.Limits(keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def one(raw: str | None) -> tuple[str | None, str]:
            headers = {"x-knoxcall-route": "pay"} | ({"x-knoxcall-key": raw} if raw else {})
            async with limit:
                answer = await client.get("/r", headers=headers)
            if not strict and answer.status_code != 200:
                return raw, str(answer.status_code)
            assert answer.status_code == 200, answer.text
            return raw, answer.headers.get("x-knoxcall-variant", "")

        return dict(await asyncio.gather(*(one(raw) for raw in raws)))


def candidates(url: str, raws: list[str]) -> set[str]:
    return {raw for raw, side in run_in_fresh_loop(_sides(url, raws)).items() if side == "candidate"}


def wait_until_served(gateways, raw: str | None, side: str) -> None:
    """Until every gateway answers this key with this side (or with no release, for side "")."""
    for gateway in gateways:
        deadline = time.monotonic() + 15
        while run_in_fresh_loop(_sides(gateway.url, [raw], strict=False))[raw] != side:
            assert time.monotonic() < deadline, f"{gateway.url} did not serve the change"
            time.sleep(0.05)


def test_api_key_stickiness_across_repeats_processes_and_weights(two_gateways, upstream, environments):
    first, second = two_gateways
    route = allow_local_callers(
        route_create(actor=SYSTEM, name="Pay", slug="pay", target_base_url=upstream.url + "/stable")
    )
    key_ids = _keys(CALLERS)
    raws = list(key_ids)
    release = releases.start_release(
        SYSTEM, route, environments["production"], candidate={"target_base_url": upstream.url + "/candidate"}
    )
    at_5 = _expected(release, key_ids, 5)
    at_25 = _expected(release, key_ids, 25)
    wait_until_served(two_gateways, next(iter(at_5)), "candidate")

    cohort = candidates(first.url, raws)
    assert abs(len(cohort) / CALLERS - 0.05) <= 0.015, len(cohort)
    assert cohort == at_5  # exactly the keys the salt puts under 5 %
    assert candidates(first.url, raws) == cohort  # the same set on a repeat
    assert candidates(second.url, raws) == cohort  # and in the other process
    assert {r.path.split("/")[1] for r in upstream.complete} == {"stable", "candidate"}

    release = releases.promote(SYSTEM, release)
    wait_until_served(two_gateways, next(iter(at_25 - at_5)), "candidate")
    grown = candidates(second.url, raws)
    assert cohort <= grown and grown == at_25  # nobody earlier went back to stable
    assert candidates(first.url, list(grown)) == grown

    releases.abort(SYSTEM, release)
    wait_until_served(two_gateways, next(iter(at_25)), "")
    assert candidates(first.url, raws) == set()
    assert candidates(second.url, list(grown)) == set()


class Done(NamedTuple):
    started: float
    ended: float
    process: int
    status: int
    variant: str


class Load:
    """64 connections calling through both gateways until stopped, each call noted with when it started and
    ended, which process served it, its status and its side."""

    def __init__(self, urls: list[str], connections: int = 64) -> None:
        self.urls, self.connections = urls, connections
        self.calls: list[Done] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    async def _worker(self, index: int) -> None:
        which = index % len(self.urls)
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=self.urls[which], timeout=30, limits=limits) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    answer = await client.get("/bg", headers={"x-knoxcall-route": "pay"})
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))
                    continue
                variant = answer.headers.get("x-knoxcall-variant", "")
                self.calls.append(Done(started, time.monotonic(), which, answer.status_code, variant))

    async def _run(self) -> None:
        await asyncio.gather(*(self._worker(i) for i in range(self.connections)))

    def start(self) -> "Load":
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.thread.start()
        return self

    def wait_for_steady_state(self) -> None:
        """Until every connection has had answers: the first calls (64 connections opening at once, cold
        processes) are slow enough on a loaded machine to blur when a switch took effect."""
        deadline = time.monotonic() + 120
        while len(self.calls) < 4 * self.connections:
            assert time.monotonic() < deadline, f"only {len(self.calls)} calls were answered"
            time.sleep(0.1)

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(60)


def decided_between(calls: list[Done], changes: list[tuple[float, str]]):
    """Per switch, the side it set and the calls certainly decided under it: started SETTLE s or more after
    it committed and answered before the next switch (a call is given its side once, when it arrives)."""
    for (changed, side), (next_change, _) in zip(changes, [*changes[1:], (float("inf"), "")], strict=True):
        yield side, [c for c in calls if c.started >= changed + SETTLE and c.ended < next_change]


def test_blue_green_switches_under_64_connections(two_gateways, upstream, environments):
    route = allow_local_callers(
        route_create(actor=SYSTEM, name="Pay", slug="pay", target_base_url=upstream.url + "/blue")
    )
    release = releases.start_release(
        SYSTEM,
        route,
        environments["production"],
        strategy="blue_green",
        candidate={"target_base_url": upstream.url + "/green"},
    )
    wait_until_served(two_gateways, None, "stable")  # the preview is served: everyone on blue
    load = Load([g.url for g in two_gateways]).start()
    changes: list[tuple[float, str]] = []
    try:
        load.wait_for_steady_state()
        for _ in range(10):
            release = releases.switch(SYSTEM, release)
            changes.append((time.monotonic(), "candidate"))
            time.sleep(PHASE)
            release = releases.switch_back(SYSTEM, release)
            changes.append((time.monotonic(), "stable"))
            time.sleep(PHASE)
    finally:
        load.finish()

    assert load.errors == []
    assert [c for c in load.calls if c.status != 200] == []
    assert {c.variant for c in load.calls} == {"stable", "candidate"}  # every answer labelled
    late, checked = [], set()
    for side, calls in decided_between(load.calls, changes):
        late += [c for c in calls if c.variant != side]
        checked |= {(side, c.process) for c in calls}
    assert late == [], f"calls started {SETTLE} s after a switch that the old side served: {late}"
    assert checked == {(side, process) for side in ("stable", "candidate") for process in (0, 1)}
    assert {r.path.split("/")[1] for r in upstream.complete} == {"blue", "green"}
