"""X-Idempotency-Key on writes: same key and body, the stored answer and no duplicate; another body, 409."""

from api.models import IdempotencyRecord
from routing.models import Route

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
