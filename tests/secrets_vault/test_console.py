"""Console pages: the has-value matrix, write-only value forms, login required."""

import pytest
from django.contrib.auth.models import User

from secrets_vault.models import Secret, SecretValue
from tests.secrets_vault.conftest import make_secret


@pytest.fixture
def admin_client(client, environments):
    client.force_login(User.objects.create_superuser("root", "r@example.com", "pw"))
    return client


def test_it_requires_login(client, environments):
    response = client.get("/secrets/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_list_shows_a_has_value_matrix(admin_client, environments):
    make_secret(environments, "TOKEN", {"staging": "s3cr3t-staging"})
    page = admin_client.get("/secrets/").content.decode()
    assert 'data-environment="staging" data-has-value="true"' in page
    assert 'data-environment="production" data-has-value="false"' in page
    assert "s3cr3t" not in page


def test_it_creates_a_secret_and_sets_a_value_through_a_password_field(admin_client, environments):
    response = admin_client.post("/secrets/", {"name": "NEW_ONE", "description": "d"})
    secret = Secret.objects.get(name="NEW_ONE")
    assert response["Location"] == f"/secrets/{secret.pk}/"
    detail = admin_client.get(response["Location"]).content.decode()
    assert 'type="password" name="value"' in detail
    admin_client.post(f"/secrets/{secret.pk}/values/staging/set", {"value": "typed-in"})
    row = SecretValue.objects.get(secret=secret)
    assert row.environment.name == "staging" and row.updated_by == "root"
    detail = admin_client.get(f"/secrets/{secret.pk}/").content.decode()
    assert "typed-in" not in detail and "v1" in detail


def test_it_deletes_a_value_and_a_secret(admin_client, environments):
    secret = make_secret(environments, "TOKEN", {"staging": "x"})
    admin_client.post(f"/secrets/{secret.pk}/values/staging/delete")
    assert not SecretValue.objects.exists()
    response = admin_client.post(f"/secrets/{secret.pk}/delete")
    assert response["Location"] == "/secrets/" and not Secret.objects.exists()


def test_it_shows_why_a_rename_was_refused(admin_client, environments):
    secret = make_secret(environments, "TOKEN", {})
    response = admin_client.post(f"/secrets/{secret.pk}/rename", {"name": "bad name"})
    assert response.status_code == 400 and "letters, digits and underscores" in response.content.decode()
