"""An API key's `expires_at`: stored, shown, and enforced by the proxy and /v1 the moment it passes."""

import time
from datetime import timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.audit import SYSTEM
from core.models import ConfigVersion
from environments.models import ApiKey
from routing.services import route_create

from .conftest import Api


def test_it_stops_an_expired_key_everywhere_without_a_configuration_change(gateway, upstream, admin):
    route_create(
        actor=SYSTEM, name="Expiring", slug="expiring", target_base_url=upstream.url, requires_clients=False
    )
    expires_at = timezone.now() + timedelta(seconds=3)
    created = admin.post(
        "/v1/api-keys", {"name": "temp", "role": "viewer", "expires_at": expires_at.isoformat()}
    )
    assert created.status_code == 201, created.body
    raw_key, key_id = created.body["data"]["api_key"], created.body["data"]["id"]
    shown = admin.get(f"/v1/api-keys/{key_id}").body["data"]["expires_at"]
    assert parse_datetime(shown) == expires_at
    assert ApiKey.objects.get(pk=key_id).expires_at == expires_at
    gateway.reload()
    version = ConfigVersion.objects.get().version

    assert gateway.get("/x", route="expiring", headers={"x-knoxcall-key": raw_key}).status_code == 200
    assert Api(raw_key).get("/v1/account").status_code == 200

    time.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()) + 0.2)  # let it expire, nothing else
    refused = gateway.get("/x", route="expiring", headers={"x-knoxcall-key": raw_key})
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_api_key")
    assert Api(raw_key).get("/v1/account").status_code == 401
    assert len(upstream.received) == 1
    assert ConfigVersion.objects.get().version == version  # no rebuild was needed


def test_it_refuses_an_expiry_in_the_past(admin):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    response = admin.post("/v1/api-keys", {"name": "late", "role": "viewer", "expires_at": past})
    assert response.status_code == 400
    assert "expires_at" in response.body["error"]["message"]
    assert not ApiKey.objects.filter(name="late").exists()


def test_it_shows_the_expiry_in_the_console(client, admin, django_user_model):
    expires_at = timezone.now() + timedelta(days=2)
    admin.post("/v1/api-keys", {"name": "temp", "role": "viewer", "expires_at": expires_at.isoformat()})
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-pw-pw"))
    page = client.get("/environments/api-keys/").content.decode()
    assert f"until {expires_at:%b} {expires_at.day}, {expires_at:%Y}" in page
    created = client.post(
        "/environments/api-keys/", {"name": "console", "role": "viewer", "expires_at": "2999-01-02T03:04"}
    )
    assert created.status_code == 200
    assert ApiKey.objects.get(name="console").expires_at.year == 2999
