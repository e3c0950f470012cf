"""Liveness and readiness endpoints for load balancers and orchestrators.

/readyz is 503 when a dependency fails (database, cache, broker, or the route table cannot be built at all).
A route the table had to leave out does not take the process out of a load balancer, since every other
route is served: the answer stays 200 with status "degraded" and names the routes, so monitoring sees it.
"""

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

from routing.selectors import unavailable_routes as routes


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_ok() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache_ok() -> None:
    cache.set("knoxcall:readyz", "1", 5)
    if cache.get("knoxcall:readyz") != "1":
        raise RuntimeError("cache did not return what was stored")


def _broker_ok() -> None:
    from knoxcall.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def unavailable_routes() -> list[dict]:
    """The routes the gateway leaves out, by name and slug with their environments. Not the reasons: they
    name hosts and ports and /readyz is public; the log and the console banner give them to staff."""
    return [{key: entry[key] for key in ("name", "slug", "environments")} for entry in routes()]


def readyz(request: HttpRequest) -> JsonResponse:
    """503 naming each dependency that failed, so an operator sees what to fix; 200 "degraded" naming the
    routes that cannot be served."""
    failed, unavailable = {}, []
    for name, probe in (("database", _database_ok), ("cache", _cache_ok), ("broker", _broker_ok)):
        try:
            probe()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            failed[name] = str(exc) or type(exc).__name__
    if "database" not in failed:
        try:
            unavailable = unavailable_routes()
        except Exception as exc:  # noqa: BLE001 - no table at all: the proxy cannot serve
            failed["route_table"] = str(exc) or type(exc).__name__
    extra = {"unavailable_routes": unavailable} if unavailable else {}
    if failed:
        return JsonResponse({"status": "unavailable", "failed": failed, **extra}, status=503)
    if unavailable:
        return JsonResponse({"status": "degraded", **extra})
    return JsonResponse({"status": "ok"})
