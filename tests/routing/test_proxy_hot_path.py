"""The hot path touches no database, and a change made through a service is served within a second."""

import time

from core.audit import SYSTEM
from routing.releases import start_release
from routing.services import route_create, route_override_update
from tests.support.access import allow_local_callers
from tests.support.upstream import echo_json


def test_it_makes_no_database_query_per_proxied_call(gateway, upstream, queries_by_thread):
    allow_local_callers(route_create(actor=SYSTEM, name="Demo", slug="demo", target_base_url=upstream.url))
    gateway.reload()
    gateway.get("/warm-up")
    queries_by_thread.clear()
    for i in range(50):
        assert gateway.get(f"/call/{i}", environment="staging").status_code == 200
    assert_no_query_on_the_path(queries_by_thread)


def test_it_makes_no_database_query_per_proxied_call_with_a_release_active(
    gateway, upstream, environments, queries_by_thread
):
    route = allow_local_callers(
        route_create(actor=SYSTEM, name="Demo", slug="demo", target_base_url=upstream.url + "/stable")
    )
    candidate = {"target_base_url": upstream.url + "/candidate"}
    steps = [{"weight_percent": 50, "hold_seconds": 60}]
    start_release(SYSTEM, route, environments["staging"], candidate=candidate, steps=steps, sticky="none")
    gateway.reload()
    gateway.get("/warm-up", environment="staging")
    queries_by_thread.clear()
    sides = {
        gateway.get(f"/call/{i}", environment="staging").headers["x-knoxcall-variant"] for i in range(50)
    }
    assert sides == {"stable", "candidate"}  # 50 calls drawn at 50 %: both sides (1 in 2**49 to fail)
    assert_no_query_on_the_path(queries_by_thread)


def assert_no_query_on_the_path(queries_by_thread) -> None:
    by_others = [
        (thread, sql)
        for thread, sql in queries_by_thread
        if thread not in ("knoxcall-_poll_loop", "knoxcall-recorder")
    ]
    assert by_others == []  # in particular nothing from the "gateway" event-loop thread
    watcher = [sql for thread, sql in queries_by_thread if thread == "knoxcall-_poll_loop"]
    assert all("environments_configversion" in sql for sql in watcher)  # only the one-row version poll
    writer = [
        sql for thread, sql in queries_by_thread if thread == "knoxcall-recorder" and sql != "BEGIN IMMEDIATE"
    ]
    assert all(
        sql.startswith('INSERT INTO "analytics_requestlog"') for sql in writer
    )  # batched, off the path


def test_it_serves_a_change_made_through_a_service_within_a_second(gateway, upstream, environments):
    route = allow_local_callers(
        route_create(actor=SYSTEM, name="Demo", slug="demo", target_base_url=upstream.url + "/old")
    )
    gateway.reload()
    assert echo_json(gateway.get("/x", environment="staging"))["path"] == "/old/x"
    route_override_update(
        actor=SYSTEM, route=route, environment=environments["staging"], target_base_url=upstream.url + "/new"
    )
    changed_at = time.monotonic()
    while echo_json(gateway.get("/x", environment="staging"))["path"] != "/new/x":
        assert time.monotonic() - changed_at < 1.0, "the change was not served within a second"
        time.sleep(0.02)
