"""Console: a feature environment from the New environment form, time left, expired names, region groups."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from configuration import tasks
from core.audit import SYSTEM
from environments.models import Environment
from environments.services import environment_create
from routing.models import RouteClient, RouteOverride
from tests.support.console import make_user, seed_world


def _developer() -> Client:
    client = Client()
    client.force_login(make_user("developer", password=None))
    return client


def test_the_new_environment_form_clones_a_parent_with_a_time_to_live(db):
    seed_world("http://127.0.0.1:9")
    client = _developer()
    response = client.post(
        "/environments/new/",
        {"name": "feature-a", "color": "#0ea5e9", "clone_from": "staging", "ttl_hours": "2"},
    )
    assert response.status_code == 302
    feature = Environment.objects.get(name="feature-a")
    assert feature.parent.name == "staging" and feature.expires_at > timezone.now()
    assert RouteOverride.objects.filter(environment=feature).count() == 1
    assert RouteClient.objects.filter(environment=feature).count() == 2
    html = client.get("/environments/").content.decode()
    assert "hour" in html and " left" in html and "from staging" in html


def test_a_developer_cannot_clone_a_protected_environment(db):
    seed_world("http://127.0.0.1:9")
    response = _developer().post(
        "/environments/new/",
        {"name": "feature-b", "color": "#0ea5e9", "clone_from": "production", "ttl_hours": "1"},
    )
    assert response.status_code == 400 and not Environment.objects.filter(name="feature-b").exists()


def test_expired_environments_are_listed_as_expired(db):
    seed_world("http://127.0.0.1:9")
    environment_create(actor=SYSTEM, name="feature-c", ttl_hours=1)
    Environment.objects.filter(name="feature-c").update(expires_at=timezone.now())
    tasks.expire()
    html = _developer().get("/environments/").content.decode()
    assert "Expired" in html and "feature-c" in html


def test_the_home_page_shows_region_groups_with_health_and_failover(db):
    seed_world("http://127.0.0.1:9")
    environment_create(actor=SYSTEM, name="prod-us", region="us", region_group="prod")
    environment_create(actor=SYSTEM, name="prod-eu", region="eu", region_group="prod", failover_order=1)
    client = _developer()
    html = client.get("/").content.decode()
    assert 'data-group="prod"' in html and "data-failover-active" not in html
    assert html.index('data-member="prod-us"') < html.index('data-member="prod-eu"')
    Environment.objects.filter(name="prod-eu").update(region_down_since=timezone.now())
    html = client.get("/").content.decode()
    assert "Failover active" in html and "Down since" in html


def test_the_list_extends_a_temporary_environment_by_a_day(db):
    seed_world("http://127.0.0.1:9")
    environment_create(actor=SYSTEM, name="feature-d", ttl_hours=1)
    client = _developer()
    assert "Extend 24 h" in client.get("/environments/").content.decode()
    assert client.post("/environments/feature-d/extend/", {"ttl_hours": "24"}).status_code == 302
    expires = Environment.objects.get(name="feature-d").expires_at
    assert expires > timezone.now() + timedelta(hours=23)
