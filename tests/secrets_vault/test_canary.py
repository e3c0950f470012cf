"""The write-only promise, end to end: a unique canary value is seen by the upstream and nowhere else."""

import logging
import uuid
from pathlib import Path

from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection

from analytics.recorder import flush
from core.audit import SYSTEM
from routing.proxy import snapshot
from secrets_vault.models import Secret
from secrets_vault.services import secret_create, secret_delete_value, secret_set_value
from tests.secrets_vault.conftest import route_to


def _all_rows_text() -> str:
    """Every row of every table, as text (binary columns as raw bytes decoded leniently)."""
    parts = []
    for model in apps.get_models():
        for row in model.objects.all().values():
            parts.extend(
                bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else repr(v)
                for v in row.values()
            )
    return "\n".join(parts)


def _database_file_bytes() -> bytes:
    name = Path(connection.settings_dict["NAME"])
    return b"".join(path.read_bytes() for path in name.parent.glob(name.name + "*"))


def _drive_console(client, secret: Secret, canary: str) -> list[str]:
    pages = []
    response = client.post(f"/secrets/{secret.pk}/values/staging/set", {"value": canary})
    assert response.status_code == 302
    rejected = client.post(
        f"/secrets/{secret.pk}/values/development/set", {"value": canary + "\nX"}, follow=True
    )
    pages.append(rejected.content.decode())
    assert "cannot contain CR, LF or NUL" in pages[-1]
    client.post(f"/secrets/{secret.pk}/values/production/set", {"value": canary})
    client.post(f"/secrets/{secret.pk}/values/development/set", {"value": canary})
    for url in [
        "/secrets/",
        f"/secrets/{secret.pk}/",
        "/admin/secrets_vault/secret/",
        f"/admin/secrets_vault/secret/{secret.pk}/change/",
        "/admin/core/auditentry/",
        "/admin/analytics/requestlog/",
    ]:
        page = client.get(url)
        assert page.status_code == 200, url
        pages.append(page.content.decode())
    return pages


def test_the_canary_appears_only_at_the_upstream(gateway, upstream, environments, client, caplog, settings):
    canary = f"CANARY_{uuid.uuid4().hex}"
    settings.DEBUG = True  # SQL with parameters goes to the django.db.backends DEBUG log
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    secret = secret_create(actor=SYSTEM, name="CANARY_KEY")
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="django.db.backends"):
        pages = _drive_console(client, secret, canary)
        route_to(
            upstream,
            name="Canary",
            inject_headers_json={"X-Api-Key": "{{secret:CANARY_KEY}}"},
            inject_body_json={"key": "{{secret_id:" + str(secret.pk) + "}}"},
        )
        gateway.reload()
        answers = [
            gateway.request("POST", "/status/200", environment=env, json={"a": 1}) for env in environments
        ]
        flush()
        pages.append(client.get("/admin/analytics/requestlog/").content.decode())
    assert all(answer.status_code == 200 for answer in answers)
    assert [r.header("x-api-key") for r in upstream.complete] == [canary] * 3
    assert all(canary.encode() in r.body for r in upstream.complete)
    assert any("secrets_vault_secretvalue" in r.getMessage() for r in caplog.records), "SQL was not logged"
    assert canary not in caplog.text
    assert not any(canary in repr(r.args) or canary in r.getMessage() for r in caplog.records)
    assert not any(canary in page for page in pages)
    assert not any(canary.encode() in answer.content for answer in answers)
    assert canary not in _all_rows_text()
    assert canary.encode() not in _database_file_bytes()
    assert canary not in repr(snapshot.current()), "a logged route table would show the value"
    assert django_settings.DEBUG


def test_the_canary_stays_out_of_error_answers(gateway, upstream, environments):
    canary = f"CANARY_{uuid.uuid4().hex}"
    secret = secret_create(actor=SYSTEM, name="CANARY_KEY")
    for environment in environments.values():
        secret_set_value(actor=SYSTEM, secret=secret, environment=environment, value=canary)
    route_to(
        upstream,
        name="Canary",
        inject_headers_json={"X-Api-Key": "{{secret:CANARY_KEY}}"},
    )
    secret_delete_value(actor=SYSTEM, secret=secret, environment=environments["staging"])
    gateway.reload()
    refused = gateway.get("/status/200", environment="staging")
    assert refused.json()["code"] == "secret_missing"
    assert canary not in refused.text and upstream.received == []
