"""Query budgets: every /v1 list endpoint and main console page makes as many queries for 50 rows as for 1.

Each test seeds a world with N of everything (routes with overrides and client assignments, clients,
secrets with values, API keys, alert rules with channels, incidents, request logs and metric buckets),
counts the queries of one request, seeds N more, and counts again. A query per row (an N+1) shows as a
difference; the count itself may change with the code, only its flatness is asserted.
"""

from datetime import timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import AlertIncident, ChannelKind
from alerts.services import alert_rule_create, notification_channel_create
from analytics.models import MetricBucket, RequestLog
from core.audit import SYSTEM
from environments.models import Environment
from environments.services import api_key_create, client_create
from routing.models import ReleaseCheck
from routing.releases import abort, start_release
from routing.services import route_client_assign, route_create, route_override_update
from secrets_vault.services import secret_create, secret_set_value
from tests.support.console import make_user, seed_world

PAGE = {"per_page": 100}
API_LISTS = [
    ("/v1/environments", {}),
    ("/v1/clients", PAGE),
    ("/v1/api-keys", PAGE),
    ("/v1/audit-logs", PAGE),
    ("/v1/routes", PAGE),
    ("/v1/routes/demo/environments", {}),
    ("/v1/routes/demo/logs", PAGE),
    ("/v1/secrets", PAGE),
    ("/v1/logs", {"limit": 1000}),
    ("/v1/alert-rules", PAGE),
    ("/v1/alert-incidents", PAGE),
    ("/v1/analytics/environments", {"window": "7d"}),
    ("/v1/routes/demo/environments/staging/releases", PAGE),
    ("/v1/releases/{release}/analysis", PAGE),
]
CONSOLE_PAGES = [
    "/",
    "/environments/",
    "/environments/clients/",
    "/environments/api-keys/",
    "/routes/",
    "/routes/{route}/",
    "/routes/{route}/overrides/",
    "/routes/{route}/clients/",
    "/routes/{route}/history/",
    "/secrets/",
    "/analytics/",
    "/analytics/health/",
    "/analytics/requests/",
    "/alerts/",
    "/alerts/rules/",
    "/alerts/channels/",
    "/audit/",
    "/deployments/routes/{route}/releases/?environment=staging",
    "/deployments/routes/{route}/releases/?environment=development",
]


class World:
    """Adds rows of every kind; `grow(n)` adds n more of each, named apart from the earlier ones."""

    def __init__(self) -> None:
        self.base = seed_world("https://upstream.example.com")
        self.environments = list(Environment.objects.all())
        self.count = 0
        # The active release whose page and checks are read; others are started and aborted as rows grow.
        dev = next(e for e in self.environments if e.name == "development")
        self.release = start_release(
            SYSTEM, self.base["route"], dev, candidate={"target_base_url": "https://next.example.com"}
        )

    def grow(self, n: int) -> None:
        for _ in range(n):
            self.count += 1
            self._add(self.count)
        self._add_traffic(n)

    def _add(self, i: int) -> None:
        staging = next(e for e in self.environments if e.name == "staging")
        route = route_create(actor=SYSTEM, name=f"Route {i}", target_base_url=f"https://r{i}.example.com")
        route_override_update(actor=SYSTEM, route=route, environment=staging, timeout_ms=1000 + i)
        client = client_create(actor=SYSTEM, name=f"client-{i}", ip_address=f"10.0.{i}.0/24")
        for target in (route, self.base["route"]):
            route_client_assign(actor=SYSTEM, route=target, environment=staging, client=client)
        secret = secret_create(actor=SYSTEM, name=f"SECRET_{i}")
        for environment in self.environments:
            secret_set_value(actor=SYSTEM, secret=secret, environment=environment, value=f"v{i}")
        api_key_create(actor=SYSTEM, name=f"key-{i}", role="developer")
        self._add_release(staging, i)
        channel = notification_channel_create(
            actor=SYSTEM,
            name=f"hook-{i}",
            kind=ChannelKind.WEBHOOK,
            config={"url": f"https://hooks.example.com/{i}", "secret": "s"},
        )
        rule = alert_rule_create(
            actor=SYSTEM,
            name=f"rule-{i}",
            type="error_rate",
            threshold=5,
            route=route,
            environments=[staging],
            channels=[channel],
        )
        AlertIncident.objects.create(
            rule=rule,
            environment=staging,
            environment_name="staging",
            route=route,
            observed_value=9,
            threshold=5,
            opened_at=timezone.now(),
        )

    def _add_release(self, staging: Environment, i: int) -> None:
        """An ended release of the demo route in staging (history), and a check of the active one."""
        route = self.base["route"]
        ended = start_release(
            SYSTEM, route, staging, candidate={"target_base_url": f"https://c{i}.example.com"}
        )
        abort(SYSTEM, ended)
        ReleaseCheck.objects.create(release=self.release, step=0, verdict="inconclusive", reason=f"{i} calls")

    def _add_traffic(self, n: int) -> None:
        now = timezone.now().replace(second=0, microsecond=0)
        route = self.base["route"]
        RequestLog.objects.bulk_create(
            RequestLog(
                request_id=f"req-{self.count}-{i}",
                timestamp=now - timedelta(seconds=i),
                route_id=route.pk,
                route_slug=route.slug,
                environment=self.environments[i % 3].name,
                method="GET",
                path=f"/p/{i}",
                status=200 if i % 5 else 502,
                latency_ms=3.0 + i,
            )
            for i in range(n)
        )
        for i in range(n):
            minute = now - timedelta(minutes=self.count * 100 + i)
            for environment in self.environments:
                MetricBucket.objects.get_or_create(
                    route_id=route.pk,
                    environment=environment.name,
                    minute=minute,
                    defaults={"total": 3, "status_2xx": 2, "status_5xx": 1},
                )


def _queries(client: Client, path: str, params: dict | None = None, **headers) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params or {}, **headers)
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return len(captured)


def _budgets(client: Client, requests: list[tuple[str, dict]], world: World, **headers) -> dict:
    """Queries per request with one row of everything, then with fifty."""
    world.grow(1)
    one = {path: _queries(client, path, params, **headers) for path, params in requests}
    world.grow(49)
    fifty = {path: _queries(client, path, params, **headers) for path, params in requests}
    return {path: (one[path], fifty[path]) for path in one}


def _growing(budgets: dict) -> dict:
    return {path: counts for path, counts in budgets.items() if counts[0] != counts[1]}


def test_v1_list_endpoints_make_as_many_queries_for_50_rows_as_for_1(db):
    world = World()
    _, raw_key = api_key_create(actor=SYSTEM, name="reader", role="viewer")
    lists = [(path.format(release=world.release.pk), params) for path, params in API_LISTS]
    budgets = _budgets(Client(), lists, world, HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert len(budgets) == len(API_LISTS)
    assert _growing(budgets) == {}, "queries for 1 row vs 50 rows"


def test_console_pages_make_as_many_queries_for_50_rows_as_for_1(db):
    world = World()
    client = Client()
    client.force_login(make_user("administrator", password=None))
    pages = [(page.format(route=world.base["route"].pk), {}) for page in CONSOLE_PAGES]
    for path, _ in pages:
        client.get(path)  # the first view of a page warms per-process caches (session, content types)
    budgets = _budgets(client, pages, world)
    assert len(budgets) == len(CONSOLE_PAGES)
    assert _growing(budgets) == {}, "queries for 1 row vs 50 rows"
