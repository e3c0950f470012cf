"""Rate limits on real Redis: exact across gateway processes, keys expire, failing open and recovering."""

import asyncio
import shutil
import subprocess
import time
import uuid

import httpx
import pytest
from django.conf import settings
from django.test import override_settings

from core.audit import SYSTEM
from routing.proxy import ratelimit
from routing.services import route_create, route_override_update
from tests.conftest import require_service
from tests.support.access import allow_local_callers
from tests.support.gateway import run_in_fresh_loop
from tests.support.gateway_process import GatewayProcess, free_port

pytestmark = pytest.mark.redis

REDIS_URL = "redis://127.0.0.1:6379/4"  # database 4: this issue's, apart from other test runs


@pytest.fixture
def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        require_service("Redis", f"{REDIS_URL}: {exc}")
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client):
    """A key prefix unique to this test, deleted afterwards."""
    value = f"knoxcall-test:{uuid.uuid4().hex}:"
    yield value
    for key in redis_client.scan_iter(value + "*"):
        redis_client.delete(key)


def limited_route(upstream, requests: int, window: int = 86_400):
    route = route_create(
        actor=SYSTEM,
        name="Metered",
        slug="metered",
        target_base_url=upstream.url,
        rate_limit_enabled=True,
        rate_limit_requests=requests,
        rate_limit_window_sec=window,
    )
    allow_local_callers(route)
    return route


async def _storm(urls: list[str], calls: int) -> list[int]:
    limits = httpx.Limits(max_connections=calls, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        requests = [
            client.get(urls[i % len(urls)] + "/echo", headers={"x-knoxcall-route": "metered"})
            for i in range(calls)
        ]
        return [response.status_code for response in await asyncio.gather(*requests)]


def _wait_for_limiter_connections(redis_client, count: int) -> None:
    deadline = time.monotonic() + 10
    while sum(1 for c in redis_client.client_list() if c.get("db") == "4") < count:
        assert time.monotonic() < deadline, "the gateways did not open their Redis pools"
        time.sleep(0.05)


def test_it_holds_a_limit_exactly_across_two_gateway_processes(upstream, environments, redis_client, prefix):
    limited_route(upstream, 100)
    # A generous Redis timeout: 500 connections opened at once make loopback networking on small CI
    # machines stall for seconds, and a timeout would (by design) let calls through unchecked.
    env = {
        "REDIS_URL": REDIS_URL,
        "KNOXCALL_RATE_LIMIT_PREFIX": prefix,
        "KNOXCALL_RATE_LIMIT_REDIS_TIMEOUT": "15",
    }
    gateways = [GatewayProcess(env).start() for _ in range(2)]
    try:
        for gateway in gateways:  # each process opens its Redis pool before the storm, as in service
            warm_up = httpx.get(gateway.url + "/echo", headers={"x-knoxcall-route": "metered"})
            assert warm_up.status_code == 200
        _wait_for_limiter_connections(redis_client, 2 * settings.RATE_LIMIT_REDIS_MAX_CONNECTIONS)
        for _trial in range(5):
            for key in redis_client.scan_iter(prefix + "*"):
                redis_client.delete(key)
            upstream.clear()
            codes = run_in_fresh_loop(_storm([g.url for g in gateways], 500))
            assert codes.count(200) == 100, sorted(set(codes))
            assert codes.count(429) == 400
            assert len(upstream.received) == 100
    finally:
        for gateway in gateways:
            gateway.stop()
    keys = list(redis_client.scan_iter(prefix + "*"))
    assert keys
    assert all(redis_client.ttl(key) > 0 for key in keys)


def test_it_limits_production_and_not_development_at_the_same_time(
    gateway, upstream, environments, redis_client, prefix
):
    route = limited_route(upstream, 5)
    route_override_update(
        actor=SYSTEM, route=route, environment=environments["development"], rate_limit_enabled=False
    )
    gateway.reload()

    async def both() -> tuple[list[int], list[int]]:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:

            def one(env: str):
                headers = {"x-knoxcall-route": "metered", "x-knoxcall-environment": env}
                return client.get("/echo", headers=headers)

            calls = [one(e) for _ in range(30) for e in ("production", "development")]
            answers = await asyncio.gather(*calls)
        by_env = {"production": [], "development": []}
        for answer in answers:
            by_env[answer.headers["x-knoxcall-environment"]].append(answer.status_code)
        return by_env["production"], by_env["development"]

    with override_settings(REDIS_URL=REDIS_URL, RATE_LIMIT_KEY_PREFIX=prefix):
        production, development = run_in_fresh_loop(both())
    assert production.count(200) == 5 and production.count(429) == 25
    assert development == [200] * 30
    assert all(redis_client.ttl(key) > 0 for key in redis_client.scan_iter(prefix + "*"))


class OwnRedis:
    """A redis-server of this test's own on a free port, so stopping it disturbs no one else."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "OwnRedis":
        import redis

        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(5)


def test_it_fails_open_while_redis_is_down_and_limits_again_when_it_returns(
    gateway, upstream, environments, redis_client
):
    if not shutil.which("redis-server"):
        require_service("redis-server", "the binary is needed to stop and restart a Redis of the test's own")
    limited_route(upstream, 3)
    gateway.reload()
    own = OwnRedis().start()
    try:
        with override_settings(REDIS_URL=own.url):
            codes = [gateway.get("/echo", route="metered").status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            own.stop()
            failures = ratelimit.stats.redis_failures
            down = [gateway.get("/echo", route="metered") for _ in range(5)]
            assert [a.status_code for a in down] == [200] * 5  # documented: fail open, never 500 or 429
            assert "x-ratelimit-limit" not in down[0].headers
            assert ratelimit.stats.redis_failures >= failures + 5
            own.start()  # same port, empty: counting starts afresh
            deadline = time.monotonic() + 15
            while "x-ratelimit-limit" not in gateway.get("/echo", route="metered").headers:
                assert time.monotonic() < deadline, "limiting did not resume after Redis came back"
                time.sleep(0.2)
            codes = [gateway.get("/echo", route="metered").status_code for _ in range(3)]
            assert codes == [200, 200, 429]  # the probe above was the first of the three allowed
    finally:
        if own.process.poll() is None:
            own.stop()


def test_callers_take_turns_for_the_limiters_connections_and_none_passes_unchecked(redis_client, prefix):
    """32 callers on 2 connections, 200 checks each, as a busy gateway makes them. Each waits its turn, first
    come first served: none waits out the timeout and fails open, so the limit of 50 passes exactly 50.
    (In the connection pool's own queue a caller could lose its turn to newcomers again and again: a quarter
    of such checks waited out a 2 s timeout and passed unchecked.)"""
    limit = ratelimit.Limit(name="route:turns", limit=50, window=3600)

    async def storm() -> list[ratelimit.Verdict | None]:
        limiter = ratelimit.RedisLimiter(REDIS_URL, prefix)

        async def caller() -> list[ratelimit.Verdict | None]:
            return [await limiter.check([limit]) for _ in range(200)]

        return [
            verdict
            for verdicts in await asyncio.gather(*[caller() for _ in range(32)])
            for verdict in verdicts
        ]

    failures_before = ratelimit.stats.redis_failures
    with override_settings(RATE_LIMIT_REDIS_MAX_CONNECTIONS=2, RATE_LIMIT_REDIS_TIMEOUT=1.0):
        verdicts = run_in_fresh_loop(storm())
    assert ratelimit.stats.redis_failures == failures_before
    assert None not in verdicts and len(verdicts) == 6400
    assert sum(verdict.allowed for verdict in verdicts) == 50


def test_a_check_cancelled_in_flight_never_leaves_its_reply_for_the_next_one(redis_client, prefix):
    """A caller that goes away while its script call is in flight (a client that hung up, a deadline) must
    not leave the reply on a connection where the next check would read it as its own: after a few hundred
    such cancellations each check still gets its own answer."""
    limit = ratelimit.Limit(name="route:cancelled", limit=10**6, window=3600)

    async def scenario() -> tuple[int, list[int]]:
        limiter = ratelimit.RedisLimiter(REDIS_URL, prefix)
        await limiter.check([limit])
        cancelled = 0
        for i in range(300):
            try:  # deadlines from 0 to 0.45 ms: cancelled before sending, after sending, while reading
                await asyncio.wait_for(limiter.check([limit]), timeout=0.00005 * (i % 10))
            except TimeoutError:
                cancelled += 1
        return cancelled, [(await limiter.check([limit])).remaining for _ in range(50)]

    cancelled, remaining = run_in_fresh_loop(scenario())
    assert cancelled > 0
    assert remaining == list(range(remaining[0], remaining[0] - 50, -1))
    counted = int(redis_client.hget(prefix + limit.name, "c"))  # every call Redis ran, cancelled or not
    assert remaining[-1] == limit.limit - counted  # the last answer is the last call's own, not an older one
