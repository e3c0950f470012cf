"""API keys authenticate /v1 (Bearer or x-api-key); failures answer 401 in the error envelope, then 429."""

from django.core.cache import cache
from django.test import override_settings

from core.audit import SYSTEM
from environments.models import ApiKey
from environments.services import api_key_revoke
from tests.api.conftest import Api


def test_it_accepts_a_bearer_key_and_answers_in_the_envelope(admin):
    response = admin.get("/v1/account", headers={"KnoxCall-Version": "2025-01-01"})
    assert response.status_code == 200
    assert set(response.body) == {"data", "meta"}
    assert response.body["meta"]["request_id"] == response["X-Request-Id"]
    assert response.body["data"]["slug"] == "self-hosted"
    assert response["KnoxCall-Version"] == "2025-01-01"  # accepted and echoed


def test_it_accepts_the_x_api_key_header(raw_keys):
    response = Api(None, **{"x-api-key": raw_keys["viewer"]}).get("/v1/environments")
    assert response.status_code == 200


def test_it_refuses_a_missing_key_with_401(environments):
    response = Api(None).get("/v1/routes")
    assert response.status_code == 401
    assert response.body["status"] == 401
    assert response.body["error"]["type"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_an_unknown_or_revoked_key(raw_keys):
    assert Api("tk_live_not-a-real-key-at-all-000000").get("/v1/routes").status_code == 401
    key = ApiKey.objects.get(name="viewer key")
    api_key_revoke(actor=SYSTEM, api_key=key)
    response = Api(raw_keys["viewer"]).get("/v1/routes")
    assert response.status_code == 401
    assert response.body["error"]["message"] == "Invalid or revoked API key."


@override_settings(API_AUTH_THROTTLE_RATE="3/m")
def test_it_throttles_repeated_failures_from_one_address(raw_keys):
    cache.clear()
    guesser = Api("tk_live_guess-guess-guess-guess-0000")
    statuses = [guesser.get("/v1/routes").status_code for _ in range(6)]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[-2:] == [429, 429]  # once past the rate (django-ratelimit counts the failures)
    assert guesser.get("/v1/routes").body["error"]["type"] == "rate_limited"
    cache.clear()
