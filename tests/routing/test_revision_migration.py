"""Migration 0006: every route that exists when revisions arrive gets revision 1, equal to the live route."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from routing.document import document_digest, route_document
from routing.models import Route, RouteRevision

# Environments stay at their latest state (their table keeps its newer columns whatever routing does).
LATEST_ENVIRONMENTS = ("environments", "0008_environment_deployment_settings")
BEFORE = [("routing", "0005_route_revisions"), LATEST_ENVIRONMENTS]
AFTER = [("routing", "0006_first_revisions"), LATEST_ENVIRONMENTS]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_it_writes_revision_one_for_each_existing_route(transactional_db):
    old = migrate(BEFORE)
    try:
        environment = old.get_model("environments", "Environment").objects.create(name="staging")
        routes = old.get_model("routing", "Route")
        legacy = routes.objects.create(name="Legacy", slug="legacy", target_base_url="http://127.0.0.1:9")
        routes.objects.create(name="Other", slug="other", target_base_url="http://127.0.0.1:9")
        old.get_model("routing", "RouteOverride").objects.create(
            route=legacy,
            environment=environment,
            timeout_ms=2000,
            inject_headers_json={"X": "{{secret:GONE}}"},
        )

        migrate(AFTER)
        migrate(AFTER)  # idempotent: nothing more on a second run (migrate back and forth in development)

        assert RouteRevision.objects.count() == 2
        revision = RouteRevision.objects.get(route_id=legacy.pk)
        assert (revision.number, revision.action) == (1, "initial")
        assert revision.digest == document_digest(route_document(Route.objects.get(pk=legacy.pk)))
        assert revision.document["overrides"]["staging"]["timeout_ms"] == 2000
        assert revision.document["secret_refs"]["staging"] == [
            {"ref": "{{secret:GONE}}", "id": None, "name": None, "value_version": None}
        ]
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
