"""A 10-route promotion whose 7th route fails validation writes nothing, while 64 concurrent callers through
the real gateway see no error during the attempt."""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from core.audit import SYSTEM
from core.models import AuditEntry, ConfigVersion
from routing.models import Route, RouteOverride
from routing.services import route_create, route_override_update
from secrets_vault.services import secret_create, secret_set_value
from tests.support.access import allow_local_callers

CALLERS = 64


def _ten_routes(upstream_url: str, environments) -> list[Route]:
    """r01…r10 live in production; staging runs a shorter timeout, and r07 also a header whose secret has a
    value in staging only, so promoting it into production fails the secret check."""
    secret = secret_create(actor=SYSTEM, name="STAGING_ONLY")
    secret_set_value(actor=SYSTEM, secret=secret, environment=environments["staging"], value="s")
    routes = []
    for n in range(1, 11):
        route = route_create(actor=SYSTEM, name=f"R{n:02}", slug=f"r{n:02}", target_base_url=upstream_url)
        allow_local_callers(route)
        changes = {"timeout_ms": 5000}
        if n == 7:
            changes["inject_headers_json"] = {"Authorization": "Bearer {{secret:STAGING_ONLY}}"}
        route_override_update(actor=SYSTEM, route=route, environment=environments["staging"], **changes)
        routes.append(route)
    return routes


def _call_until(stop: threading.Event, gateway_url: str, n: int) -> list[int]:
    statuses = []
    with httpx.Client(base_url=gateway_url, timeout=10) as client:
        while not stop.is_set() or len(statuses) < 3:
            route = f"r{(n + len(statuses)) % 10 + 1:02}"
            response = client.get(
                "/ping", headers={"x-knoxcall-route": route, "x-knoxcall-environment": "production"}
            )
            statuses.append(response.status_code)
    return statuses


def test_a_failing_route_writes_nothing_while_callers_see_no_error(gateway, upstream, people, environments):
    routes = _ten_routes(upstream.url, environments)
    gateway.reload()
    alice, bob = people["alice"]["api"], people["bob"]["api"]
    body = {"source": "staging", "target": "production", "title": "Ten routes"}
    promotion = alice.post("/v1/promotions", body).body["data"]
    assert [r["slug"] for r in promotion["plan"]["routes"]] == [r.slug for r in routes]
    path = f"/v1/promotions/{promotion['id']}"
    alice.patch(path + "/checklist", {"items": {"stakeholder_approval": True}})
    assert bob.post(path + "/approve").status_code == 200
    version = ConfigVersion.objects.get().version
    overrides = list(RouteOverride.objects.order_by("pk").values())
    bases = list(Route.objects.order_by("pk").values())
    audit = AuditEntry.objects.count()

    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=CALLERS) as pool:
        calls = [pool.submit(_call_until, stop, gateway.url, n) for n in range(CALLERS)]
        response = alice.post(path + "/apply")
        stop.set()
        statuses = [status for call in calls for status in call.result()]

    assert response.status_code == 400, response.body
    assert "STAGING_ONLY" in response.body["error"]["message"]
    assert statuses and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    assert ConfigVersion.objects.get().version == version
    assert list(RouteOverride.objects.order_by("pk").values()) == overrides
    assert list(Route.objects.order_by("pk").values()) == bases
    assert AuditEntry.objects.count() == audit
    assert alice.get(path).body["data"]["status"] == "approved"
