"""Liveness, readiness and the deployment checks."""

import pytest
from django.core.checks import run_checks


@pytest.mark.django_db
def test_it_answers_alive_and_ready(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}


@pytest.mark.django_db
def test_it_names_what_is_not_ready(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    from knoxcall.celery import app

    app.conf.broker_url = settings.CELERY_BROKER_URL
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = "filesystem://"
    assert response.status_code == 503
    assert list(response.json()["failed"]) == ["broker"]


@pytest.mark.django_db
def test_it_refuses_development_defaults_when_debug_is_off(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = settings.DEV_SECRET_KEY
    ids = {message.id for message in run_checks()}
    assert "knoxcall.E001" in ids
    settings.SECRET_KEY = "a-real-secret-key-" + "x" * 40
    assert "knoxcall.E001" not in {message.id for message in run_checks()}
