"""core.updates: the one unknown-field check and the one set-validate-save step every service uses."""

import pytest
from django.core.exceptions import ValidationError

from alerts.services import alert_rule_update
from core.audit import SYSTEM
from core.updates import apply_fields, refuse_unknown_fields
from environments.models import Client
from environments.services import client_create, client_update, environment_update
from routing.services import route_create, route_override_update, route_update
from secrets_vault.services import secret_update

pytestmark = pytest.mark.django_db


def test_it_names_every_unknown_field():
    with pytest.raises(ValidationError) as caught:
        refuse_unknown_fields({"name": 1, "zeta": 2, "alpha": 3}, {"name"}, "widget")
    assert caught.value.messages == ["Unknown or read-only widget fields: alpha, zeta."]


def test_it_accepts_known_fields():
    refuse_unknown_fields({"name": 1}, ("name", "other"), "widget")


def test_it_validates_before_saving():
    client = client_create(actor=SYSTEM, name="ci", ip_address="10.0.0.1")
    with pytest.raises(ValidationError):
        apply_fields(client, {"name": ""})
    assert Client.objects.get(pk=client.pk).name == "ci"


def test_it_saves_valid_fields_and_can_leave_saving_to_the_caller():
    client = client_create(actor=SYSTEM, name="ci", ip_address="10.0.0.1")
    apply_fields(client, {"name": "deploy"}, save=False)
    assert Client.objects.get(pk=client.pk).name == "ci"
    apply_fields(client, {"name": "deploy"}, validate=lambda c: None)
    assert Client.objects.get(pk=client.pk).name == "deploy"


@pytest.mark.parametrize(
    "call",
    [
        lambda env, route, client: environment_update(actor=SYSTEM, environment=env, bogus=1),
        lambda env, route, client: client_update(actor=SYSTEM, client=client, bogus=1),
        lambda env, route, client: route_update(actor=SYSTEM, route=route, bogus=1),
        lambda env, route, client: route_override_update(actor=SYSTEM, route=route, environment=env, bogus=1),
    ],
)
def test_every_service_refuses_an_unknown_field_the_same_way(environments, call):
    route = route_create(actor=SYSTEM, name="Pay", target_base_url="https://example.com")
    client = client_create(actor=SYSTEM, name="ci", ip_address="10.0.0.1")
    with pytest.raises(ValidationError) as caught:
        call(environments["production"], route, client)
    assert "bogus" in caught.value.messages[0] and caught.value.messages[0].startswith("Unknown or read-only")


def test_secret_and_alert_services_refuse_unknown_fields_the_same_way():
    for call in (
        lambda: secret_update(actor=SYSTEM, secret=None, bogus=1),
        lambda: alert_rule_update(actor=SYSTEM, rule=None, bogus=1),
    ):
        with pytest.raises(ValidationError, match="Unknown or read-only .* fields: bogus"):
            call()
