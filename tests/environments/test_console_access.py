"""The console pages for clients, API keys and a route's Environment Clients."""

import re

import pytest
from django.contrib.auth import get_user_model

from core.audit import SYSTEM
from environments.models import ApiKey, Client, Environment
from environments.selectors import api_key_authenticate
from routing.models import RouteClient
from routing.services import route_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-pw-pw-pw")
    client.force_login(user)
    return client


def test_it_creates_and_edits_a_client(admin_client):
    response = admin_client.post(
        "/environments/clients/",
        {"name": "office", "type": "server", "ip_address": "::ffff:10.0.0.0/104", "enabled": "on"},
    )
    assert response.status_code == 302
    office = Client.objects.get(name="office")
    assert office.ip_address == "10.0.0.0/8"
    admin_client.post(
        f"/environments/clients/{office.pk}/",
        {"name": "office", "type": "server", "ip_address": "10.0.0.0/8"},
    )
    assert Client.objects.get(pk=office.pk).enabled is False
    page = admin_client.get("/environments/clients/")
    assert b"office" in page.content


def test_it_refuses_an_invalid_address(admin_client):
    response = admin_client.post(
        "/environments/clients/", {"name": "bad", "type": "server", "ip_address": "10.0.0.1/8"}
    )
    assert response.status_code == 400 and b"host bits" in response.content
    assert not Client.objects.exists()


def test_it_shows_a_new_key_once_and_revokes_it(admin_client):
    response = admin_client.post(
        "/environments/api-keys/", {"name": "ci", "role": "developer", "may_invoke": "on", "live": "on"}
    )
    raw_key = re.search(rb"tk_live_[A-Za-z0-9]{40}", response.content).group().decode()
    assert api_key_authenticate(raw_key) is not None
    assert raw_key.encode() not in admin_client.get("/environments/api-keys/").content
    key = ApiKey.objects.get()
    admin_client.post(f"/environments/api-keys/{key.pk}/revoke/")
    assert api_key_authenticate(raw_key) is None


def test_it_assigns_clients_per_environment(admin_client):
    production = Environment.objects.get(name="production")
    route = route_create(actor=SYSTEM, name="Pay", target_base_url="http://127.0.0.1:9/")
    office = Client.objects.create(name="office", ip_address="10.0.0.0/8")
    url = f"/routes/{route.pk}/clients/"
    admin_client.post(url, {"environment": production.pk, "client": office.pk, "action": "assign"})
    assert RouteClient.objects.filter(route=route, environment=production, client=office).exists()
    assert b"office" in admin_client.get(url).content
    admin_client.post(url, {"environment": production.pk, "client": office.pk, "action": "unassign"})
    assert not RouteClient.objects.exists()
