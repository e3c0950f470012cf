"""/v1 releases: start, history, one release with both sides, checks, actions, refusals."""

import pytest

from core.audit import SYSTEM
from routing.models import ReleaseCheck
from routing.services import route_create

CANDIDATE = {"target_base_url": "http://127.0.0.1:9/v2"}


@pytest.fixture
def route(environments):
    return route_create(actor=SYSTEM, name="Pay", slug="pay", target_base_url="http://127.0.0.1:9/v1")


def start(api, env="staging", **body):
    return api.post(f"/v1/routes/pay/environments/{env}/releases", {"candidate": CANDIDATE, **body})


def test_it_starts_reads_and_lists_a_canary(admin, route):
    started = start(admin, sticky="header", sticky_header="X-User-Id", analysis={"min_calls": 20})
    assert started.status_code == 201, started.body
    data = started.body["data"]
    assert (data["state"], data["weight_percent"], data["current_step"], data["route"]) == (
        "running",
        5.0,
        0,
        "pay",
    )
    assert (data["sticky"], data["sticky_header"], data["analysis"]["min_calls"]) == (
        "header",
        "x-user-id",
        20,
    )
    assert data["analysis"]["max_error_rate"] == 0.5
    assert data["sides"]["candidate"] == {
        "calls": 0,
        "errors": 0,
        "error_rate": None,
        "p50_ms": None,
        "p95_ms": None,
        "share": None,
    }
    assert "salt" not in data
    one = admin.get(f"/v1/releases/{data['id']}")
    assert one.status_code == 200 and one.body["data"]["id"] == data["id"]
    history = admin.get("/v1/routes/pay/environments/staging/releases")
    assert [r["id"] for r in history.body["data"]] == [data["id"]] and history.body["meta"]["total"] == 1


def test_actions_move_the_release_and_refuse_what_its_state_does_not_allow(admin, route):
    release_id = start(admin).body["data"]["id"]
    base = f"/v1/releases/{release_id}"
    assert admin.post(f"{base}/promote").body["data"]["weight_percent"] == 25.0
    paused = admin.post(f"{base}/pause", {"reason": "checking logs"})
    assert (paused.body["data"]["state"], paused.body["data"]["reason"]) == ("paused", "checking logs")
    refused = admin.post(f"{base}/pause")
    assert refused.status_code == 409 and refused.body["error"]["type"] == "release_transition_refused"
    assert admin.post(f"{base}/resume").body["data"]["state"] == "running"
    switch = admin.post(f"{base}/switch")
    assert switch.status_code == 409 and "blue-green" in switch.body["error"]["message"]
    assert admin.post(f"{base}/abort").body["data"]["state"] == "aborted"
    assert admin.post(f"{base}/resume").status_code == 409


def test_blue_green_switch_switch_back_and_finalize(admin, route):
    release_id = start(admin, strategy="blue_green").body["data"]["id"]
    base = f"/v1/releases/{release_id}"
    assert admin.post(f"{base}/switch").body["data"]["weight_percent"] == 100.0
    back = admin.post(f"{base}/switch-back", {})
    assert (back.body["data"]["state"], back.body["data"]["weight_percent"]) == ("waiting", 0.0)
    final = admin.post(f"{base}/finalize")
    assert final.body["data"]["state"] == "finalized"
    env = admin.get("/v1/routes/pay/environments/staging")
    assert env.body["data"]["target_base_url"] == CANDIDATE["target_base_url"]
    assert "target_base_url" in env.body["data"]["overridden_fields"]


def test_a_second_active_release_is_refused_with_its_code(admin, route):
    start(admin)
    again = start(admin)
    assert again.status_code == 409 and again.body["error"]["type"] == "release_in_progress"


def test_invalid_starts_name_the_field(admin, route):
    assert start(admin, steps=[{"weight_percent": 50}, {"weight_percent": 10}]).status_code == 400
    unknown = admin.post("/v1/routes/pay/environments/staging/releases", {"candidate": {**CANDIDATE, "x": 1}})
    assert unknown.status_code == 400 and "'x'" in unknown.body["fields"]["candidate"][0]
    missing = admin.post("/v1/routes/pay/environments/staging/releases", {"candidate": {}})
    assert missing.status_code == 400
    assert (
        admin.post("/v1/routes/nope/environments/staging/releases", {"candidate": CANDIDATE}).status_code
        == 404
    )
    assert admin.get("/v1/releases/not-a-uuid").status_code == 404


def test_roles_follow_the_environment(developer, viewer, admin, route):
    assert start(viewer).status_code == 403
    assert start(developer, env="production").status_code == 403
    release_id = start(admin, env="production").body["data"]["id"]
    assert developer.post(f"/v1/releases/{release_id}/abort").status_code == 403
    assert viewer.get(f"/v1/releases/{release_id}").status_code == 200
    assert start(developer).status_code == 201


def test_analysis_lists_the_checks_newest_first(admin, route):
    release_id = start(admin).body["data"]["id"]
    for verdict in ("inconclusive", "pass"):
        ReleaseCheck.objects.create(
            release_id=release_id,
            step=0,
            verdict=verdict,
            reason=f"{verdict}!",
            numbers={"candidate_calls": 3},
        )
    checks = admin.get(f"/v1/releases/{release_id}/analysis").body["data"]
    assert [c["verdict"] for c in checks] == ["pass", "inconclusive"]
    assert checks[0]["numbers"] == {"candidate_calls": 3}
