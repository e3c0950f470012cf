from django.test import Client

from environments.audit import SYSTEM
from environments.models import Environment
from routing.selectors import secret_placeholders
from routing.services import route_override_update, route_update
from secrets_vault.services import secret_create, secret_set_value
from tests.support.console import make_user, seed_world


def test_it_finds_placeholders_in_nested_json_values_and_keys():
    value = {"Authorization": "Bearer {{secret:API_TOKEN}}", "nested": {"list": ["{{ secret_id:1234-ab }}"]},
             "{{secret:KEY_NAME}}": 1, "plain": "no placeholder {{secret}}", "again": "{{secret:API_TOKEN}}"}
    assert secret_placeholders(value) == ["secret:API_TOKEN", "secret_id:1234-ab", "secret:KEY_NAME"]


def test_it_lists_each_environments_effective_placeholders_never_values(db):
    world = seed_world("http://127.0.0.1:9")
    for name in ("STRIPE_KEY", "STRIPE_TEST_KEY", "ACCOUNT"):
        secret = secret_create(actor=SYSTEM, name=name)
        for environment in Environment.objects.all():
            secret_set_value(actor=SYSTEM, secret=secret, environment=environment, value=f"{name}-canary")
    route = route_update(actor=SYSTEM, route=world["route"],
                         inject_headers_json={"Authorization": "Bearer {{secret:STRIPE_KEY}}"})
    route_override_update(actor=SYSTEM, route=route, environment=Environment.objects.get(name="staging"),
                          inject_headers_json={"Authorization": "Bearer {{secret:STRIPE_TEST_KEY}}"},
                          inject_body_json={"account": "{{secret:ACCOUNT}}"})
    client = Client()
    client.force_login(make_user("viewer", password=None))
    rows = client.get(f"/routes/{route.pk}/secrets/").context["rows"]
    by_env = {row["environment"].name: [u["placeholder"] for u in row["uses"]] for row in rows}
    assert by_env == {"production": ["secret:STRIPE_KEY"], "development": ["secret:STRIPE_KEY"],
                      "staging": ["secret:STRIPE_TEST_KEY", "secret:ACCOUNT"]}
    assert b"-canary" not in client.get(f"/routes/{route.pk}/secrets/").content
