"""A new configuration version is applied to the route table from the change log: only what it changed is
read and resolved again, and the result is the table a whole build would give.

Every test changes something through the services, brings a table up to date with `route_table_update`
and checks two things: the pairs the change did not touch are the very same objects as before (they were
not resolved again), and the table equals a whole build of the same database.
"""

from dataclasses import fields
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.region_health import region_health_refresh
from configuration.environment_expiry import environment_archive
from core.audit import SYSTEM, bump_config_version
from core.models import ConfigChange, ConfigVersion
from environments.models import Environment
from environments.regions import region_network_create
from environments.services import (
    api_key_create,
    api_key_revoke,
    client_create,
    client_update,
    environment_create,
    environment_delete,
    environment_update,
)
from routing import table as route_table
from routing.models import Route, RouteOverride
from routing.services import (
    route_client_assign,
    route_create,
    route_delete,
    route_override_update,
    route_update,
)
from routing.table import RouteTable, build_route_table, route_table_update
from secrets_vault.models import Secret
from secrets_vault.services import secret_create, secret_rename, secret_set_value, secret_update

INTERNAL = {"secret_refs", "origin"}  # refs may list more than a whole build: only extra work


def same_as_a_whole_build(table: RouteTable) -> None:
    whole = build_route_table()
    for item in fields(RouteTable):
        if item.name not in INTERNAL:
            assert getattr(table, item.name) == getattr(whole, item.name), item.name


def rebuilt_pairs(before: RouteTable, after: RouteTable) -> set[tuple[str, str]]:
    """The pairs of `after` that are not the very objects `before` held."""
    return {pair for pair, route in after.resolved.items() if before.resolved.get(pair) is not route}


def updated(table: RouteTable) -> RouteTable:
    after = route_table_update(table)
    assert after.version == ConfigVersion.objects.get().version
    same_as_a_whole_build(after)
    return after


@pytest.fixture
def routes(environments) -> list[Route]:
    secret = secret_create(actor=SYSTEM, name="TOKEN")
    for name in ("production", "staging", "development"):
        secret_set_value(actor=SYSTEM, secret=secret, environment=environments[name], value=f"{name}-1")
    made = [
        route_create(actor=SYSTEM, name=f"Route {i}", slug=f"route-{i}", target_base_url=f"https://r{i}.test")
        for i in range(5)
    ]
    route_update(
        actor=SYSTEM, route=made[0], inject_headers_json={"Authorization": "Bearer {{secret:TOKEN}}"}
    )
    client = client_create(actor=SYSTEM, name="office", ip_address="10.1.0.0/16")
    for route in made:
        route_client_assign(actor=SYSTEM, route=route, environment=environments["staging"], client=client)
    return made


@pytest.fixture
def table(routes) -> RouteTable:
    return build_route_table()


def pairs_of(route: Route) -> set[tuple[str, str]]:
    return {(str(route.pk), name) for name in Environment.objects.values_list("name", flat=True)}


def test_one_changed_route_resolves_only_that_routes_pairs(table, routes, environments):
    route_update(actor=SYSTEM, route=routes[3], timeout_ms=1234)
    after = updated(table)
    assert rebuilt_pairs(table, after) == pairs_of(routes[3])
    assert after.resolve(str(routes[3].pk), "staging").timeout_seconds == 1.234
    assert (
        after.client_networks[(str(routes[1].pk), "staging")]
        is table.client_networks[(str(routes[1].pk), "staging")]
    )


def test_an_override_in_one_environment_rebuilds_that_route_only(table, routes, environments):
    route_override_update(
        actor=SYSTEM, route=routes[2], environment=environments["staging"], target_base_url="https://s.test"
    )
    after = updated(table)
    assert rebuilt_pairs(table, after) == pairs_of(routes[2])
    assert after.resolve(str(routes[2].pk), "staging").target_base_url == "https://s.test"


def test_it_applies_several_versions_at_once(table, routes):
    route_update(actor=SYSTEM, route=routes[1], timeout_ms=2000)
    route_update(actor=SYSTEM, route=routes[4], enabled=False)
    after = updated(table)
    assert rebuilt_pairs(table, after) == pairs_of(routes[1]) | pairs_of(routes[4])


def test_a_missing_change_log_means_a_whole_build(table, routes):
    route_update(actor=SYSTEM, route=routes[1], timeout_ms=2000)
    ConfigChange.objects.all().delete()  # pruned, or written before the log existed
    after = updated(table)
    assert rebuilt_pairs(table, after) == set(after.resolved)


def test_a_version_bumped_without_a_scope_means_a_whole_build(table, routes):
    Route.objects.filter(pk=routes[1].pk).update(timeout_ms=3000)  # behind the services' back
    bump_config_version()
    after = updated(table)
    assert rebuilt_pairs(table, after) == set(after.resolved)
    assert after.resolve(str(routes[1].pk), "production").timeout_seconds == 3


def test_a_reset_database_counting_again_means_a_whole_build(table, routes):
    ConfigVersion.objects.all().delete()
    bump_config_version("route:" + str(routes[0].pk))
    assert ConfigVersion.objects.get().version < table.version
    after = updated(table)
    assert rebuilt_pairs(table, after) == set(after.resolved)


def test_a_deleted_route_leaves_every_map(table, routes):
    route_delete(actor=SYSTEM, route=routes[2])
    after = updated(table)
    gone = str(routes[2].pk)
    assert after.find_route_id("route-2") is None and after.find_route_id(gone) is None
    assert not [pair for pair in after.resolved if pair[0] == gone]
    assert not [pair for pair in after.client_networks if pair[0] == gone]
    assert rebuilt_pairs(table, after) == set()


def test_a_created_route_and_a_renamed_one_are_found_by_their_keys(table, routes, environments):
    route_update(actor=SYSTEM, route=routes[1], name="Billing")
    route_delete(actor=SYSTEM, route=routes[2])
    created = route_create(
        actor=SYSTEM, name="Route 2 again", slug="route-2", target_base_url="https://n.test"
    )
    after = updated(table)
    assert after.find_route_id("billing") == str(routes[1].pk)
    assert after.find_route_id("route 1") is None
    assert after.find_route_id("route-2") == str(created.pk)
    assert after.resolve(str(routes[1].pk), "staging").route_name == "Billing"
    assert rebuilt_pairs(table, after) == pairs_of(routes[1]) | pairs_of(created)


def test_a_revoked_key_is_unknown_to_the_next_table(environments):
    api_key, raw_key = api_key_create(actor=SYSTEM, name="leaver", role="viewer")
    table = build_route_table()
    assert table.find_api_key(raw_key) is not None
    api_key_revoke(actor=SYSTEM, api_key=api_key)
    after = updated(table)
    assert after.find_api_key(raw_key) is None
    assert after.resolved is not table.resolved and rebuilt_pairs(table, after) == set()


def test_a_disabled_client_no_longer_reaches_the_routes(table, routes):
    client = routes[0].client_assignments.first().client
    client_update(actor=SYSTEM, client=client, enabled=False)
    after = updated(table)
    assert after.client_networks == {}
    assert rebuilt_pairs(table, after) == set()


def test_a_rotated_secret_value_reaches_only_the_routes_that_inject_it(table, routes, environments):
    token = Secret.objects.get(name="TOKEN")
    secret_set_value(actor=SYSTEM, secret=token, environment=environments["staging"], value="s-2")
    after = updated(table)
    assert rebuilt_pairs(table, after) == pairs_of(routes[0])  # only routes[0] injects TOKEN
    injection = after.resolve(str(routes[0].pk), "staging").injection
    assert dict(injection.render_headers(injection.context("r1")))[b"authorization"] == b"Bearer s-2"


def test_a_renamed_secret_breaks_the_routes_naming_it_and_a_new_one_mends_them(table, routes, environments):
    secret_rename(actor=SYSTEM, secret=Secret.objects.get(name="TOKEN"), name="TOKEN_OLD")
    after = updated(table)
    assert after.resolve(str(routes[0].pk), "staging").injection.refusal[0] == "secret_missing"
    assert rebuilt_pairs(table, after) == pairs_of(routes[0])
    mended = secret_create(actor=SYSTEM, name="TOKEN")
    secret_set_value(actor=SYSTEM, secret=mended, environment=environments["staging"], value="new")
    again = updated(after)
    assert again.resolve(str(routes[0].pk), "staging").injection.refusal is None


def test_a_new_environment_resolves_every_route_there_and_only_there(table, routes, environments):
    feature = environment_create(actor=SYSTEM, name="feature-x", clone_from=environments["staging"])
    after = updated(table)
    assert rebuilt_pairs(table, after) == {(str(route.pk), "feature-x") for route in routes}
    assert after.client_networks[(str(routes[3].pk), "feature-x")]  # the clone copied the assignments
    injection = after.resolve(str(routes[0].pk), "feature-x").injection
    assert injection.refusal is None and injection.secret_names == ("TOKEN@staging",)
    secret_set_value(actor=SYSTEM, secret=Secret.objects.get(name="TOKEN"), environment=feature, value="mine")
    environment_delete(actor=SYSTEM, environment=feature)
    gone = updated(after)
    assert "feature-x" not in gone.environments
    assert not [pair for pair in gone.resolved if pair[1] == "feature-x"]
    assert not [pair for pair in gone.client_networks if pair[1] == "feature-x"]
    assert not [key for key in gone.vault.values if key[1] == "feature-x"]  # its values went with it
    again = environment_create(actor=SYSTEM, name="feature-x")  # the name again, a new environment
    injection = updated(gone).resolve(str(routes[0].pk), again.name).injection
    assert injection.refusal[0] == "secret_missing"  # the deleted environment's value is not reused


def test_protecting_a_parent_stops_its_values_flowing_into_its_children(table, routes, environments):
    environment_create(actor=SYSTEM, name="feature-y", clone_from=environments["staging"])
    cloned = updated(table)
    environment_update(actor=SYSTEM, environment=environments["staging"], is_protected=True)
    after = updated(cloned)
    assert after.resolve(str(routes[0].pk), "feature-y").injection.refusal[0] == "secret_missing"
    assert rebuilt_pairs(cloned, after) == {(str(route.pk), "feature-y") for route in routes}


def test_an_expired_environment_answers_as_archived(table, routes, environments):
    feature = environment_create(actor=SYSTEM, name="feature-z", ttl_hours=1)
    created = updated(table)
    assert created.expires_at["feature-z"] > 0
    Environment.objects.filter(pk=feature.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    environment_archive(environment=feature)
    after = updated(created)
    assert "feature-z" in after.archived and "feature-z" not in after.expires_at


def test_region_flags_and_networks_reach_the_table(table, routes, environments, monkeypatch):
    environment_update(actor=SYSTEM, environment=environments["staging"], region="eu", region_group="api")
    region_network_create(actor=SYSTEM, region="eu", cidr="192.0.2.0/24")
    after = updated(table)
    assert [m.name for m in after.region_groups["api"].members] == ["staging"]
    assert str(after.region_networks["eu"][0]) == "192.0.2.0/24"
    monkeypatch.setattr("analytics.region_health.member_failures", lambda since: {"staging": (100, 100)})
    assert region_health_refresh() == {"staging": True}
    down = updated(after)
    assert down.region_groups["api"].members[0].fleet_down
    assert rebuilt_pairs(after, down) == set()


def test_a_bad_row_costs_only_its_pair_and_leaves_once_fixed(table, routes, environments):
    RouteOverride.objects.create(
        route=routes[1], environment=environments["staging"], target_base_url="http://127.0.0.1:99999"
    )
    bump_config_version("route:" + str(routes[1].pk))
    broken = updated(table)
    assert [(u.slug, u.environment) for u in broken.unresolvable] == [("route-1", "staging")]
    assert broken.resolve(str(routes[1].pk), "staging") is None
    assert rebuilt_pairs(table, broken) == pairs_of(routes[1]) - {(str(routes[1].pk), "staging")}
    route_override_update(
        actor=SYSTEM, route=routes[1], environment=environments["staging"], target_base_url="https://ok.test"
    )
    assert updated(broken).unresolvable == ()


def test_edits_the_proxy_does_not_serve_make_no_version(routes, environments):
    version = ConfigVersion.objects.get().version
    route_update(actor=SYSTEM, route=routes[0], description="What it is for")
    environment_update(actor=SYSTEM, environment=environments["staging"], color="#123456", description="QA")
    secret_update(actor=SYSTEM, secret=Secret.objects.get(name="TOKEN"), description="The API token")
    client_update(actor=SYSTEM, client=routes[0].client_assignments.first().client, description="HQ")
    assert ConfigVersion.objects.get().version == version
    route_update(actor=SYSTEM, route=routes[0], description="Again", timeout_ms=999)
    assert ConfigVersion.objects.get().version == version + 1
    assert ConfigChange.objects.get(version=version + 1).scopes == [f"route:{routes[0].pk}"]


def test_a_whole_build_pauses_for_the_event_loop_between_routes(routes, monkeypatch):
    pauses = []
    monkeypatch.setattr(route_table, "PAUSE_EVERY_SECONDS", 0)
    monkeypatch.setattr(route_table.Pacer, "pause", staticmethod(lambda: pauses.append(1)))
    build_route_table()
    assert len(pauses) >= len(routes)
