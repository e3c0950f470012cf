"""X-Idempotency-Key on writes: same key and body, the stored answer and no duplicate; another body, 409."""

import hashlib
import json

from core.models import IdempotencyRecord
from environments.models import ApiKey
from routing.models import Route

from .conftest import Api

BODY = {"name": "Orders", "target_base_url": "https://api.example.com"}


def test_it_answers_a_retry_with_the_stored_response_and_writes_once(admin):
    first = admin.post("/v1/routes", BODY, headers={"X-Idempotency-Key": "k-1"})
    again = admin.post("/v1/routes", BODY, headers={"X-Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.body == first.body
    assert again["Idempotent-Replayed"] == "true"
    assert Route.objects.count() == 1


def test_it_refuses_the_same_key_with_another_body(admin):
    admin.post("/v1/routes", BODY, headers={"X-Idempotency-Key": "k-2"})
    other = admin.post("/v1/routes", {**BODY, "name": "Other"}, headers={"X-Idempotency-Key": "k-2"})
    assert other.status_code == 409
    assert other.body["error"]["type"] == "conflict"
    assert Route.objects.count() == 1


def test_it_keeps_keys_apart_per_credential_and_ignores_reads(admin, developer):
    admin.post("/v1/environments", {"name": "qa"}, headers={"X-Idempotency-Key": "shared"})
    response = developer.post("/v1/environments", {"name": "qa"}, headers={"X-Idempotency-Key": "shared"})
    assert response.status_code == 400  # a real second attempt: the name is taken
    assert admin.get("/v1/routes", headers={"X-Idempotency-Key": "shared"}).status_code == 200
    assert IdempotencyRecord.objects.count() == 2


def test_it_replays_errors_too_and_without_a_key_writes_every_time(admin):
    bad = {"name": "x", "target_base_url": "ftp://nope"}
    first = admin.post("/v1/routes", bad, headers={"X-Idempotency-Key": "k-3"})
    assert first.status_code == 400
    assert admin.post("/v1/routes", bad, headers={"X-Idempotency-Key": "k-3"}).body == first.body
    admin.post("/v1/environments", {"name": "one"})
    assert admin.post("/v1/environments", {"name": "one"}).status_code == 400


def test_it_refuses_a_retry_while_the_first_request_still_runs(admin, raw_keys):
    from datetime import timedelta

    from django.utils import timezone

    from environments.models import ApiKey

    key_id = str(ApiKey.objects.get(name="administrator key").pk)
    IdempotencyRecord.objects.create(
        credential=key_id,
        key="busy",
        request_hash="x",
        status=0,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    response = admin.post("/v1/routes", BODY, headers={"X-Idempotency-Key": "busy"})
    assert response.status_code == 409
    assert not Route.objects.exists()


def test_it_forgets_a_key_whose_request_failed_on_the_server(admin, monkeypatch):
    # Fault injection, the one way to make the server fail on purpose: the service raises like an outage.
    from routing import services

    def explode(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "route_create", explode)
    failed = admin.post("/v1/routes", BODY, headers={"X-Idempotency-Key": "k-5"})
    assert (failed.status_code, failed.body["error"]["type"]) == (500, "server_error")
    monkeypatch.undo()
    assert admin.post("/v1/routes", BODY, headers={"X-Idempotency-Key": "k-5"}).status_code == 201


def _stored_text() -> str:
    return " ".join(f"{r.request_hash} {json.dumps(r.response)}" for r in IdempotencyRecord.objects.all())


def test_it_never_stores_a_created_api_key_and_replays_without_it(admin):
    headers = {"X-Idempotency-Key": "new-key"}
    body = {"name": "ci", "role": "viewer"}
    first = admin.post("/v1/api-keys", body, headers=headers)
    assert first.status_code == 201
    raw_key = first.body["data"]["api_key"]
    assert raw_key.startswith("tk_live_")
    assert raw_key not in _stored_text()
    assert raw_key[len("tk_live_") :] not in _stored_text()

    replay = admin.post("/v1/api-keys", body, headers=headers)
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (201, "true")
    assert replay.body["data"]["api_key"] is None
    assert "shown only once" in replay.body["data"]["message"]
    assert replay.body["data"]["id"] == first.body["data"]["id"]
    assert raw_key not in replay.content.decode()


def test_it_does_not_resurrect_a_revoked_key_on_replay(admin):
    headers = {"X-Idempotency-Key": "then-revoked"}
    body = {"name": "short-lived", "role": "administrator"}
    first = admin.post("/v1/api-keys", body, headers=headers)
    key_id, raw_key = first.body["data"]["id"], first.body["data"]["api_key"]
    assert admin.delete(f"/v1/api-keys/{key_id}").status_code == 200

    replay = admin.post("/v1/api-keys", body, headers=headers)
    assert replay.status_code == 201
    assert replay.body["data"]["api_key"] is None
    assert ApiKey.objects.filter(name="short-lived").count() == 1
    assert not ApiKey.objects.get(pk=key_id).active
    assert Api(raw_key).get("/v1/account").status_code == 401


def test_it_keeps_no_secret_value_in_idempotency_records(admin):
    canary = "canary-idempotent-7f3a9"
    headers = {"X-Idempotency-Key": "secret-write"}
    assert admin.post("/v1/secrets", {"name": "PIN", "value": canary}, headers=headers).status_code == 201
    value = {"value": canary + "-2", "environment": "staging"}
    put = admin.put("/v1/secrets/PIN/value", value, headers={"X-Idempotency-Key": "value-write"})
    assert put.status_code == 200
    assert IdempotencyRecord.objects.count() == 2
    assert canary not in _stored_text()
    # The body hash is keyed (HMAC with SECRET_KEY): a leaked table cannot confirm a guessed value.
    for record in IdempotencyRecord.objects.all():
        guess = b"\n".join([b"POST", b"/v1/secrets", json.dumps({"name": "PIN", "value": canary}).encode()])
        assert record.request_hash != hashlib.sha256(guess).hexdigest()
