"""The route's History tab: revisions, a side-by-side diff, and "Roll back to this" with a preview."""

from django.test import Client

from core.audit import SYSTEM
from deployments.models import Deployment
from routing.document import document_digest, route_document
from routing.models import Route, RouteRevision
from routing.releases import start_release
from routing.services import route_update
from secrets_vault.services import secret_create, secret_rename, secret_set_value
from tests.support.console import make_user, seed_world


def _client(role: str = "administrator") -> Client:
    client = Client()
    client.force_login(make_user(role, password=None))
    return client


def _world():
    world = seed_world("http://127.0.0.1:9")
    secret = secret_create(actor=SYSTEM, name="TOKEN")
    for environment in world["environments"].values():
        secret_set_value(actor=SYSTEM, secret=secret, environment=environment, value="canary-history-1")
    route_update(actor=SYSTEM, route=world["route"], inject_headers_json={"X-Key": "{{secret:TOKEN}}"})
    target = RouteRevision.objects.filter(route_id=world["route"].pk).order_by("-number").first()
    route_update(actor=SYSTEM, route=world["route"], timeout_ms=9000, inject_headers_json={})
    return world, secret, target


def test_it_lists_revisions_and_diffs_one_against_current(db):
    world, _, target = _world()
    client = _client("viewer")
    page = client.get(f"/routes/{world['route'].pk}/history/").content.decode()
    assert f'id="revision-{target.number}"' in page and "Roll back to this" not in page  # a Viewer
    diff = client.get(f"/routes/{world['route'].pk}/history/{target.number}/")
    rows = {(c.environment, c.field): (c.before, c.after) for c in diff.context["changes"]}
    assert rows[("staging", "timeout_ms")] == (30000, 9000)
    assert rows[("production", "inject_headers_json")] == ({"X-Key": "{{secret:TOKEN}}"}, {})
    assert "canary-history-1" not in diff.content.decode()


def test_the_preview_names_secret_values_that_moved_on_and_the_post_rolls_back(db):
    world, secret, target = _world()
    route = world["route"]
    secret_set_value(actor=SYSTEM, secret=secret, environment=world["environments"]["staging"], value="v2")
    client = _client()
    preview = client.get(f"/routes/{route.pk}/history/{target.number}/rollback/").content.decode()
    assert 'id="secret-changes"' in preview and "version 1 then, 2 now" in preview
    assert "canary-history-1" not in preview and "v2" not in preview.split('id="secret-changes"')[1][:300]

    answer = client.post(f"/routes/{route.pk}/history/{target.number}/rollback/", {"reason": "slow"})

    assert answer.status_code == 302
    latest = RouteRevision.objects.filter(route_id=route.pk).order_by("-number").first()
    assert (latest.digest, latest.restored_from, latest.reason) == (target.digest, target.number, "slow")


def test_a_rollback_refused_for_a_missing_secret_says_so_and_changes_nothing(db):
    world, secret, target = _world()
    route = world["route"]
    secret_rename(actor=SYSTEM, secret=secret, name="RENAMED")
    digest = document_digest(route_document(Route.objects.get(pk=route.pk)))

    answer = _client().post(f"/routes/{route.pk}/history/{target.number}/rollback/", {})

    assert answer.status_code == 400
    assert "Secrets are missing" in answer.content.decode()
    assert document_digest(route_document(Route.objects.get(pk=route.pk))) == digest


def test_a_rollback_that_would_move_a_running_releases_baseline_is_refused_and_changes_nothing(db):
    world, _, target = _world()
    route = world["route"]
    start_release(
        SYSTEM,
        route,
        world["environments"]["staging"],
        candidate={"target_base_url": "http://127.0.0.1:9/v2"},
    )
    digest = document_digest(route_document(Route.objects.get(pk=route.pk)))

    answer = _client().post(f"/routes/{route.pk}/history/{target.number}/rollback/", {})

    assert answer.status_code == 409
    assert "A release is running on this route in staging: timeout_ms" in answer.content.decode()
    assert document_digest(route_document(Route.objects.get(pk=route.pk))) == digest
    assert not Deployment.objects.exists()


def test_a_deleted_route_is_listed_and_restored_from_its_history(db):
    from routing.services import route_delete

    world = seed_world("http://127.0.0.1:9")
    route_id = world["route"].pk
    last = RouteRevision.objects.filter(route_id=route_id).order_by("-number").first()
    route_delete(actor=SYSTEM, route=world["route"])
    client = _client()
    listing = client.get("/routes/deleted/").content.decode()
    assert f"/routes/{route_id}/history/" in listing and "demo" in listing
    history = client.get(f"/routes/{route_id}/history/").content.decode()
    assert "Deleted" in history and f"/routes/{route_id}/history/{last.number}/rollback/" in history

    answer = client.post(f"/routes/{route_id}/history/{last.number}/rollback/", {"reason": "oops"})

    assert answer.status_code == 302
    assert Route.objects.get(pk=route_id).slug == "demo"
    assert client.get("/routes/deleted/").context["routes"] == []
