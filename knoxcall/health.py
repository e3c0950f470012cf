"""Liveness and readiness endpoints for load balancers and orchestrators."""

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse


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


def readyz(request: HttpRequest) -> JsonResponse:
    """503 naming each dependency that failed, so an operator sees what to fix."""
    failed = {}
    for name, probe in (("database", _database_ok), ("cache", _cache_ok), ("broker", _broker_ok)):
        try:
            probe()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            failed[name] = str(exc) or type(exc).__name__
    if failed:
        return JsonResponse({"status": "unavailable", "failed": failed}, status=503)
    return JsonResponse({"status": "ok"})
