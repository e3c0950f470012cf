"""Shared fixtures: a real recording upstream, the real gateway under uvicorn, and seeded environments."""

import os
import threading

import httpx
import pytest
from django.db.backends import utils as db_utils

from core.audit import SYSTEM
from environments.models import Environment
from environments.services import environment_create
from tests.support.gateway import GatewayServer
from tests.support.upstream import RecordingUpstream


def require_service(name: str, reason: str) -> None:
    """Skip when a local service is missing on a user's machine; fail under CI, where it must exist."""
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required under CI: {reason}")
    pytest.skip(f"{name} unreachable: {reason}")


@pytest.fixture(autouse=True, scope="session")
def recorder_in_process():
    """The in-process gateway writes its request log from a thread, so tests can flush it and read its
    counts; the child-process writer has its own tests (tests/analytics/test_writer_process.py) and is what
    every server started as a process here uses."""
    from django.conf import settings

    settings.PROXY_RECORDER_PROCESS = False


@pytest.fixture(autouse=True, scope="session")
def flush_retries_a_deadlock():
    """A transactional test ends with one TRUNCATE of every table, while the in-process gateway's threads
    (route-table watcher, request-log recorder) may be in a statement over several of those tables.
    PostgreSQL breaks such a deadlock by failing one side, and when that is the TRUNCATE the next test starts
    on the last one's rows. Production never truncates; here the flush is tried again."""
    from django.db import OperationalError
    from django.db.backends.base.operations import BaseDatabaseOperations

    original = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        for attempt in range(1, 4):
            try:
                return original(self, sql_list)
            except OperationalError as exc:
                if "deadlock detected" not in str(exc) or attempt == 3:
                    raise

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    BaseDatabaseOperations.execute_sql_flush = original


@pytest.fixture(scope="session")
def upstream_server() -> RecordingUpstream:
    return RecordingUpstream().start()


@pytest.fixture
def upstream(upstream_server: RecordingUpstream) -> RecordingUpstream:
    upstream_server.clear()
    return upstream_server


@pytest.fixture(scope="session")
def gateway_server(django_db_setup, django_db_blocker):
    from knoxcall.asgi import application

    # The gateway's own threads (route-table watcher, recorder) read and write the test database between
    # tests too, as they would in production; pytest-django's blocker is global, so lift it for them.
    with django_db_blocker.unblock():
        server = GatewayServer(application).start()
        yield server
        server.stop()


@pytest.fixture
def environments(transactional_db) -> dict[str, Environment]:
    """production (default, protected), staging and development, created through the services."""
    Environment.objects.all().delete()
    return {
        "production": environment_create(actor=SYSTEM, name="production", is_default=True, is_protected=True),
        "staging": environment_create(actor=SYSTEM, name="staging", color="#d97706"),
        "development": environment_create(actor=SYSTEM, name="development", color="#059669"),
    }


class Gateway:
    """The running gateway plus the means to make it see the database's latest configuration now."""

    def __init__(self, server: GatewayServer) -> None:
        self.server = server
        self.url = server.url
        self.client = httpx.Client(base_url=server.url, timeout=10)

    def reload(self) -> None:
        from routing.proxy import snapshot

        snapshot.refresh(force=True)

    def request(
        self,
        method: str,
        path: str,
        *,
        route: str | None = "demo",
        environment: str | None = None,
        headers: dict | None = None,
        **kwargs,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if route is not None:
            all_headers["x-knoxcall-route"] = route
        if environment is not None:
            all_headers["x-knoxcall-environment"] = environment
        return self.client.request(method, path, headers=all_headers, **kwargs)

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.request("GET", path, **kwargs)


@pytest.fixture
def gateway(gateway_server, environments) -> Gateway:
    from analytics import recorder
    from analytics.models import RequestLog

    gw = Gateway(gateway_server)
    gw.reload()
    recorder.flush()  # calls still queued from an earlier test belong to that test, not this one
    RequestLog.objects.all().delete()
    yield gw
    gw.client.close()


@pytest.fixture
def queries_by_thread(monkeypatch):
    """Every SQL statement run in this process during the test, with the name of the thread that ran it."""
    seen: list[tuple[str, str]] = []
    original = db_utils.CursorWrapper._execute_with_wrappers

    def recording(self, sql, params, many, executor):
        seen.append((threading.current_thread().name, sql))
        return original(self, sql, params, many, executor)

    monkeypatch.setattr(db_utils.CursorWrapper, "_execute_with_wrappers", recording)
    return seen
