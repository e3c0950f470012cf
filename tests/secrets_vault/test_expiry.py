"""Expired secrets: strict ones refuse the call, the others are injected with a warning."""

import logging
from datetime import timedelta

from django.utils import timezone

from tests.secrets_vault.conftest import make_secret, route_to


def _route(upstream, secret_name: str):
    return route_to(
        upstream,
        name="R",
        inject_headers_json={"X-Key": "{{secret:" + str(secret_name) + "}}"},
    )


def test_it_refuses_a_strictly_expired_secret(gateway, upstream, environments):
    past = timezone.now() - timedelta(minutes=1)
    make_secret(environments, "OLD", {e: "v" for e in environments}, expires_at=past, strict_expiry=True)
    _route(upstream, "OLD")
    gateway.reload()
    response = gateway.get("/x")
    assert response.status_code == 500
    assert response.json()["code"] == "secret_expired" and "OLD" in response.json()["error"]
    assert upstream.received == []


def test_it_injects_a_non_strict_expired_secret_and_warns(gateway, upstream, environments, caplog):
    past = timezone.now() - timedelta(minutes=1)
    make_secret(environments, "OLD", {e: "still-used" for e in environments}, expires_at=past)
    _route(upstream, "OLD")
    gateway.reload()
    with caplog.at_level(logging.WARNING, logger="secrets_vault.injection"):
        response = gateway.get("/x", environment="staging")
    assert response.status_code == 200
    assert upstream.complete[0].header("x-key") == "still-used"
    warnings = [r.getMessage() for r in caplog.records if r.name == "secrets_vault.injection"]
    assert any("OLD" in w and "expired" in w and "staging" in w for w in warnings)
    assert not any("still-used" in w for w in warnings)


def test_it_expires_without_a_table_rebuild(gateway, upstream, environments):
    soon = timezone.now() + timedelta(seconds=1)
    make_secret(environments, "SOON", {e: "v" for e in environments}, expires_at=soon, strict_expiry=True)
    _route(upstream, "SOON")
    gateway.reload()
    table_version = gateway.get("/x")
    assert table_version.status_code == 200
    import time

    while timezone.now() <= soon:
        time.sleep(0.05)
    assert gateway.get("/x").json()["code"] == "secret_expired"
