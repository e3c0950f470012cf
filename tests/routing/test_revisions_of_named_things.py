"""Writes to what a route document names — an environment (its overrides and assignments there) or a client
(its assignments, by name) — record one revision for each route whose document they change, in their own
transaction, and none for a route they leave as it was."""

from datetime import timedelta

import pytest
from django.utils import timezone

from configuration.apply import apply_plan
from configuration.document import export_config, plan
from configuration.environment_expiry import environment_archive
from core.audit import SYSTEM
from environments.models import Client, Environment
from environments.services import (
    api_key_create,
    client_create,
    client_delete,
    client_update,
    environment_create,
    environment_delete,
)
from routing import services
from routing.document import document_digest, route_document
from routing.models import Route, RouteRevision
from secrets_vault.services import secret_create, secret_rename, secret_set_value
from tests.api.conftest import Api


def _numbers(route: Route) -> list[int]:
    return list(
        RouteRevision.objects.filter(route_id=route.pk).order_by("number").values_list("number", flat=True)
    )


def _last(route: Route) -> RouteRevision:
    return RouteRevision.objects.filter(route_id=route.pk).order_by("-number").first()


def _matches_route(route: Route) -> bool:
    return _last(route).digest == document_digest(route_document(Route.objects.get(pk=route.pk)))


@pytest.fixture
def routes(environments) -> dict[str, Route]:
    """named: an override and an assignment of `office` in staging (two in production too); plain: none."""
    office = client_create(actor=SYSTEM, name="office", ip_address="10.0.0.1")
    named = services.route_create(actor=SYSTEM, name="Named", target_base_url="http://127.0.0.1:9/a")
    services.route_override_update(
        actor=SYSTEM, route=named, environment=environments["staging"], timeout_ms=700
    )
    for name in ("staging", "production"):
        services.route_client_assign(actor=SYSTEM, route=named, environment=environments[name], client=office)
    plain = services.route_create(actor=SYSTEM, name="Plain", target_base_url="http://127.0.0.1:9/b")
    return {"named": Route.objects.get(pk=named.pk), "plain": plain}


def test_deleting_an_environment_gives_each_route_that_named_it_one_revision(routes, environments):
    before = _numbers(routes["named"])
    environment_delete(actor=SYSTEM, environment=environments["staging"])
    assert _numbers(routes["named"]) == [*before, before[-1] + 1]
    revision = _last(routes["named"])
    assert (revision.action, revision.environment) == ("environment_delete", "staging")
    assert revision.fields == ["overrides.staging", "clients.staging"]
    assert _matches_route(routes["named"])
    assert _numbers(routes["plain"]) == [1]


def test_renaming_a_client_gives_each_route_it_is_assigned_to_one_revision(routes):
    before = _numbers(routes["named"])
    client_update(actor=SYSTEM, client=Client.objects.get(name="office"), name="hq")
    assert _numbers(routes["named"]) == [*before, before[-1] + 1]  # one, though assigned in two environments
    assert _last(routes["named"]).document["clients"] == {"production": ["hq"], "staging": ["hq"]}
    assert _last(routes["named"]).action == "client_update"
    assert _matches_route(routes["named"])
    assert _numbers(routes["plain"]) == [1]


def test_a_client_change_the_documents_do_not_hold_records_nothing(routes):
    before = _numbers(routes["named"])
    client_update(actor=SYSTEM, client=Client.objects.get(name="office"), ip_address="10.0.0.2")
    client_update(actor=SYSTEM, client=Client.objects.get(name="office"), name="office")
    assert _numbers(routes["named"]) == before


def test_deleting_a_client_gives_each_route_it_was_assigned_to_one_revision(routes):
    before = _numbers(routes["named"])
    client_delete(actor=SYSTEM, client=Client.objects.get(name="office"))
    assert _numbers(routes["named"]) == [*before, before[-1] + 1]
    assert _last(routes["named"]).document["clients"] == {}
    assert _numbers(routes["plain"]) == [1]


def test_a_clone_gives_each_route_with_something_copied_one_revision(routes, environments):
    before = _numbers(routes["named"])
    environment_create(actor=SYSTEM, name="feature-x", clone_from=environments["staging"], ttl_hours=2)
    assert _numbers(routes["named"]) == [*before, before[-1] + 1]
    revision = _last(routes["named"])
    assert (revision.action, revision.environment) == ("environment_clone", "feature-x")
    assert revision.document["overrides"]["feature-x"] == {"timeout_ms": 700}
    assert _numbers(routes["plain"]) == [1]


def test_an_expired_environment_gives_each_route_that_named_it_one_revision(routes, environments):
    feature = environment_create(
        actor=SYSTEM, name="feature-y", clone_from=environments["staging"], ttl_hours=1
    )
    before = _numbers(routes["named"])
    environment_archive(environment=feature, now=timezone.now() + timedelta(hours=2))
    assert _numbers(routes["named"]) == [*before, before[-1] + 1]
    assert "feature-y" not in _last(routes["named"]).document["overrides"]
    assert _last(routes["named"]).action == "environment_expire"


def test_apply_deleting_an_environment_and_renaming_a_client_is_one_revision_per_route(routes):
    desired = export_config()
    desired["environments"] = [e for e in desired["environments"] if e["name"] != "staging"]
    for client in desired["clients"]:
        client["name"] = "hq" if client["name"] == "office" else client["name"]
    for route in desired["routes"]:
        route["overrides"].pop("staging", None)
        route["clients"] = {env: ["hq"] for env in route["clients"] if env != "staging"}
    before = _numbers(routes["named"])
    apply_plan(plan(desired), SYSTEM)
    assert _numbers(routes["named"]) == [*before, before[-1] + 1]
    assert _last(routes["named"]).action == "apply"
    assert _last(routes["named"]).document["clients"] == {"production": ["hq"]}
    assert _numbers(routes["plain"]) == [1]


def test_a_client_written_with_its_assignments_through_the_api_is_one_revision_per_route(routes):
    _, raw = api_key_create(actor=SYSTEM, name="ops", role="administrator")
    api = Api(raw)
    before = _numbers(routes["named"])
    response = api.patch(
        "/v1/clients/office",
        {
            "name": "hq",
            "route_assignments": [
                {"route": "named", "environment": "staging"},
                {"route": "named", "environment": "development"},
            ],
        },
    )
    assert response.status_code == 200, response.body
    assert _numbers(routes["named"]) == [*before, before[-1] + 1]
    assert _last(routes["named"]).document["clients"] == {"development": ["hq"], "staging": ["hq"]}


def test_renaming_a_secret_changes_no_route_document_and_records_nothing(environments):
    """A document holds templates; `{{secret:NAME}}` is unchanged by a rename (the route then answers
    secret_missing until it is edited, which is a revision), and `{{secret_id:…}}` keeps resolving."""
    secret = secret_create(actor=SYSTEM, name="TOKEN")
    for environment in Environment.objects.all():
        secret_set_value(actor=SYSTEM, secret=secret, environment=environment, value="v")
    route = services.route_create(
        actor=SYSTEM,
        name="Uses",
        target_base_url="http://127.0.0.1:9",
        inject_headers_json={"X-A": "{{secret:TOKEN}}", "X-B": f"{{{{secret_id:{secret.pk}}}}}"},
    )
    secret_rename(actor=SYSTEM, secret=secret, name="TOKEN_V2")
    assert _numbers(route) == [1]
