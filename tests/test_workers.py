"""`manage.py knoxcall serve --workers 2` on PostgreSQL and Redis: two real server processes, one socket.

Which worker answered is read from the kernel, not from the product: for each kept-alive test connection,
psutil finds the worker process that holds the other end. So every claim below is checked on both workers:
a configuration change is served by each within a second (Redis pub/sub wakes each watcher), a limit of 100
passes exactly 100 of 500 concurrent calls (Redis counters), each call is logged and rolled up once (each
worker's own recorder), an alert fires once, a killed worker is replaced and SIGTERM stops all with exit 0.
"""

import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest
from django.db import connection
from django.db.models import Sum
from django.test import override_settings

from alerts.models import ChannelKind, RuleType
from alerts.services import alert_rule_create, notification_channel_create
from alerts.tasks import rollup_then_evaluate_task
from analytics.models import MetricBucket, RequestLog
from analytics.tasks import rollup
from core.audit import SYSTEM
from knoxcall.celery import app as celery_app
from routing.services import route_create, route_update
from tests.conftest import require_service
from tests.support.access import allow_local_callers
from tests.support.gateway import run_in_fresh_loop
from tests.support.gateway_process import ROOT, free_port
from tests.support.gateway_process import test_database_url as database_url_of_the_tests
from tests.support.receivers import NotificationReceiver

REDIS_URL = "redis://127.0.0.1:6379/6"  # database 6: these tests', apart from other test runs
STARTUP_SECONDS = 120  # two Django imports on a loaded 2-core CI machine


class ServedWorkers:
    """`manage.py knoxcall serve --workers 2` in a session of its own, on the tests' database."""

    def __init__(self, log_dir: Path, prefix: str) -> None:
        self.port = free_port()
        self.log_path = log_dir / "serve.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url_of_the_tests(),
            "REDIS_URL": REDIS_URL,
            "KNOXCALL_DATA_DIR": str(log_dir),
            "KNOXCALL_RATE_LIMIT_PREFIX": prefix,
            # 500 connections opened at once stall loopback networking on small machines for seconds, and
            # a Redis timeout would (by design) let calls through unchecked.
            "KNOXCALL_RATE_LIMIT_REDIS_TIMEOUT": "15",
            # Polling only as a slow fallback: a change seen within a second is then Redis pub/sub's doing.
            "KNOXCALL_CONFIG_POLL_SECONDS": "30",
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> "ServedWorkers":
        command = [
            sys.executable,
            "manage.py",
            "knoxcall",
            "serve",
            "--workers",
            "2",
            "--port",
            str(self.port),
        ]
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while len(self.worker_pids()) < 2 or not self._healthy():
            assert self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, "the workers did not start\n" + self.log()
            time.sleep(0.2)
        return self

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def worker_pids(self) -> set[int]:
        """uvicorn's worker processes (spawned children; not multiprocessing's resource tracker)."""
        try:
            children = psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return set()
        pids = set()
        for child in children:
            try:
                if "spawn_main" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                    pids.add(child.pid)
            except psutil.NoSuchProcess:
                pass
        return pids

    def worker_of(self, client_port: int) -> int | None:
        """The worker holding the server end of the connection from this local port."""
        for pid in self.worker_pids():
            try:
                for conn in psutil.Process(pid).net_connections("tcp"):
                    if conn.raddr and conn.raddr.port == client_port and conn.laddr.port == self.port:
                        return pid
            except psutil.NoSuchProcess:
                pass
        return None

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process and self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
            return None


@pytest.fixture(scope="module")
def redis_client():
    import redis

    if connection.vendor != "postgresql":
        pytest.skip(
            "several workers need PostgreSQL: runs in the PostgreSQL pass (DATABASE_URL=postgres://…)"
        )
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        require_service("Redis", f"{REDIS_URL}: {exc}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def prefix(redis_client):
    value = f"knoxcall-workers-test:{uuid.uuid4().hex}:"
    yield value
    for key in redis_client.scan_iter(value + "*"):
        redis_client.delete(key)


@pytest.fixture(scope="module")
def served(redis_client, prefix, django_db_setup, tmp_path_factory):
    server = ServedWorkers(tmp_path_factory.mktemp("serve"), prefix).start()
    yield server
    server.stop()


@pytest.fixture
def publishing(environments):
    """Configuration writes in this process announce themselves on the workers' Redis, as in production.

    The workers outlive each test while the database is emptied after it; the version row then counts from
    1 again, which the workers' tables tell apart by the row's creation time (routing.table).
    """
    with override_settings(REDIS_URL=REDIS_URL):
        yield


class Pinned:
    """One kept-alive connection to the served port, and the worker process that accepted it."""

    def __init__(self, served: ServedWorkers) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        self.connection.connect()
        self.worker = served.worker_of(self.connection.sock.getsockname()[1])

    def get(self, path: str, route: str, environment: str = "production") -> tuple[int, dict]:
        headers = {"x-knoxcall-route": route, "x-knoxcall-environment": environment}
        self.connection.request("GET", path, headers=headers)
        response = self.connection.getresponse()
        body = response.read()
        return response.status, json.loads(body) if body else {}


def connect_to_each_worker(served: ServedWorkers, tries: int = 200) -> dict[int, Pinned]:
    """Open connections until each worker holds one (the kernel hands each to whichever accepts first)."""
    pinned: dict[int, Pinned] = {}
    for _ in range(tries):
        candidate = Pinned(served)
        if candidate.worker is not None and candidate.worker not in pinned:
            pinned[candidate.worker] = candidate
        else:
            candidate.connection.close()
        if len(pinned) == 2:
            break
    return pinned


@pytest.fixture
def pin(served):
    """connect_to_each_worker, failing when a worker takes no connection; every connection closed after."""
    opened: list[Pinned] = []

    def one_connection_per_worker() -> dict[int, Pinned]:
        pinned = connect_to_each_worker(served)
        opened.extend(pinned.values())
        if len(pinned) < 2:
            pytest.fail(
                f"connections reached only workers {sorted(pinned)} of {sorted(served.worker_pids())}"
            )
        return pinned

    yield one_connection_per_worker
    for pinned in opened:
        pinned.connection.close()


def wait_until(condition, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_configuration_change_is_served_by_both_workers_within_a_second(
    served, pin, upstream, environments, publishing
):
    route = allow_local_callers(
        route_create(actor=SYSTEM, name="Flip", slug="flip", target_base_url=upstream.url)
    )
    pinned = pin()
    for worker in pinned.values():  # each worker serves the new route before the change under test
        assert wait_until(lambda w=worker: w.get("/before", "flip")[0] == 200, timeout=5)

    route_update(actor=SYSTEM, route=route, target_base_url=upstream.url + "/after")
    changed = time.monotonic()  # committed, and announced on Redis
    seen_after: dict[int, float] = {}
    while len(seen_after) < 2 and time.monotonic() - changed < 5:
        for pid, worker in pinned.items():  # every worker keeps being asked, so none idles out
            status, body = worker.get("/echo", "flip")
            if pid not in seen_after and status == 200 and body["path"] == "/after/echo":
                seen_after[pid] = time.monotonic() - changed
    print(f"\nconfiguration change served by each worker after: {seen_after}")
    assert set(seen_after) == set(pinned), f"served by {sorted(seen_after)} only, of {sorted(pinned)}"
    assert max(seen_after.values()) < 1.0


async def _storm(url: str, route: str, calls: int) -> list[int]:
    limits = httpx.Limits(max_connections=calls, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        requests = [client.get(url + "/echo", headers={"x-knoxcall-route": route}) for _ in range(calls)]
        return [response.status_code for response in await asyncio.gather(*requests)]


@pytest.mark.postgres
@pytest.mark.redis
def test_a_limit_of_100_passes_exactly_100_of_500_concurrent_calls_across_both_workers(
    served, pin, upstream, environments, redis_client, prefix, publishing
):
    route = route_create(
        actor=SYSTEM, name="Metered", slug="metered", target_base_url=upstream.url,
        rate_limit_enabled=True, rate_limit_requests=100, rate_limit_window_sec=86_400,
    )  # fmt: skip
    allow_local_callers(route)
    for worker in pin().values():  # both limiters open their Redis pools
        assert wait_until(lambda w=worker: w.get("/warm-up", "metered")[0] == 200, timeout=5)
    for key in redis_client.scan_iter(prefix + "*"):
        redis_client.delete(key)
    upstream.clear()

    codes = run_in_fresh_loop(_storm(f"http://127.0.0.1:{served.port}", "metered", 500))
    assert (codes.count(200), codes.count(429)) == (100, 400), sorted(set(codes))
    assert len(upstream.received) == 100


@pytest.mark.postgres
@pytest.mark.redis
def test_analytics_count_every_call_once_whichever_worker_served_it(
    served, pin, upstream, environments, publishing
):
    route = allow_local_callers(
        route_create(actor=SYSTEM, name="Counted", slug="counted", target_base_url=upstream.url)
    )
    pinned = pin()
    for worker in pinned.values():
        assert wait_until(lambda w=worker: w.get("/echo", "counted")[0] == 200, timeout=5)
    assert wait_until(lambda: RequestLog.objects.filter(route_id=route.pk).count() == 2, timeout=10)
    RequestLog.objects.all().delete()

    for _ in range(100):
        for worker in pinned.values():
            assert worker.get("/echo", "counted")[0] == 200
    logged = RequestLog.objects.filter(route_id=route.pk)
    assert wait_until(lambda: logged.count() >= 200, timeout=15), logged.count()
    time.sleep(1.5)  # three recorder flushes more: a call recorded twice would show up by now
    assert logged.count() == 200
    assert logged.values("request_id").distinct().count() == 200
    rollup.apply().get()
    rollup.apply().get()  # a second rollup finds nothing left to count
    assert MetricBucket.objects.filter(route_id=route.pk).aggregate(n=Sum("total"))["n"] == 200


@pytest.mark.postgres
@pytest.mark.redis
def test_an_alert_fires_once_for_failures_served_by_both_workers(
    served, pin, environments, settings, publishing
):
    settings.ALERTS_ALLOWED_HOSTS = ["127.0.0.1"]
    slack = NotificationReceiver(kind="slack").start()
    channel = notification_channel_create(
        actor=SYSTEM, name="Slack", kind=ChannelKind.SLACK, config={"webhook_url": f"{slack.url}/hook"}
    )
    alert_rule_create(
        actor=SYSTEM, name="Production failing", type=RuleType.ERROR_RATE, threshold=5.0, window_minutes=1,
        min_requests=1, environments=[environments["production"]], channels=[channel],
    )  # fmt: skip
    gone = f"http://127.0.0.1:{free_port()}"  # bound then closed: refuses every connection
    route = allow_local_callers(route_create(actor=SYSTEM, name="Gone", slug="gone", target_base_url=gone))
    pinned = pin()
    for worker in pinned.values():
        assert wait_until(lambda w=worker: w.get("/x", "gone")[0] == 502, timeout=5)
        for _ in range(4):
            assert worker.get("/x", "gone")[0] == 502
    logged = RequestLog.objects.filter(route_id=route.pk)
    assert wait_until(lambda: logged.count() == 10, timeout=15), logged.count()

    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        rollup_then_evaluate_task.apply().get()
        rollup_then_evaluate_task.apply().get()  # beat's next run: the incident is open, nothing to send
    finally:
        celery_app.conf.task_always_eager = previous
    assert wait_until(lambda: len(slack.received) >= 1, timeout=10)
    time.sleep(0.5)
    assert len(slack.received) == 1
    assert "Production failing" in slack.received[0].json["text"]


@pytest.mark.postgres
@pytest.mark.redis
def test_a_killed_worker_is_replaced_and_sigterm_stops_everything_with_exit_0(served):
    before = served.worker_pids()
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    replaced = wait_until(
        lambda: len(served.worker_pids() - {victim}) == 2, timeout=STARTUP_SECONDS, interval=0.5
    )
    assert replaced, served.log()
    (newcomer,) = served.worker_pids() - before

    def newcomer_answers() -> bool:
        pinned = connect_to_each_worker(served, tries=20)
        try:
            return newcomer in pinned and pinned[newcomer].get("/healthz", "none")[0] == 404
        finally:
            for connection in pinned.values():
                connection.connection.close()

    assert wait_until(newcomer_answers, timeout=STARTUP_SECONDS, interval=0.5), served.log()

    processes = [psutil.Process(served.process.pid), *(psutil.Process(pid) for pid in served.worker_pids())]
    assert served.stop() == 0, served.log()
    _, alive = psutil.wait_procs(processes, timeout=15)
    assert alive == [], served.log()
    assert "Traceback" not in served.log()


@pytest.mark.parametrize(
    ("command", "database_url", "redis_url", "missing"),
    [
        (
            "serve",
            "sqlite:////tmp/knoxcall-workers-refused.sqlite3",
            "",
            "DATABASE_URL=postgres://… and REDIS_URL",
        ),
        ("serve", "postgres://nobody@127.0.0.1:9/none", "", "set REDIS_URL=redis://…"),
        (
            "run",
            "sqlite:////tmp/knoxcall-workers-refused.sqlite3",
            REDIS_URL,
            "set DATABASE_URL=postgres://…",
        ),
    ],
)
def test_more_than_one_worker_without_shared_state_is_refused_in_one_line(
    tmp_path, command, database_url, redis_url, missing
):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KNOXCALL_WORKERS": "2",  # `make run` and `serve` both read it
        "KNOXCALL_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "knoxcall", command, "--port", str(free_port())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and missing in lines[0], done.stderr
    assert "2 workers need shared state" in lines[0]
    assert not (tmp_path / "knoxcall.sqlite3").exists()  # refused before migrating or starting anything
