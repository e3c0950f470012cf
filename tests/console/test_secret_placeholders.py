from django.test import Client

from core.audit import SYSTEM
from environments.models import Environment
from routing.services import route_override_update, route_update
from secrets_vault.rendering import injected_secret_placeholders
from secrets_vault.services import secret_create, secret_set_value
from tests.support.console import make_user, seed_world


def test_it_finds_the_secret_placeholders_the_proxy_will_inject():
    secret_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    found = injected_secret_placeholders(
        {
            "Authorization": "Bearer {{secret:API_TOKEN}}",
            "X-Env": "{{environment}}",
            "X-Id": "{{ secret_id:" + secret_id + " }}",
        },
        {"nested": {"list": ["{{secret:KEY_NAME}}", "{{secret:API_TOKEN}}"]}, "plain": "no placeholder"},
    )
    assert {field: [str(p) for p in ps] for field, ps in found.items()} == {
        "inject_headers_json": ["{{secret:API_TOKEN}}", "{{secret_id:" + secret_id + "}}"],
        "inject_body_json": ["{{secret:KEY_NAME}}", "{{secret:API_TOKEN}}"],
    }


def test_it_lists_each_environments_effective_placeholders_never_values(db):
    world = seed_world("http://127.0.0.1:9")
    for name in ("STRIPE_KEY", "STRIPE_TEST_KEY", "ACCOUNT"):
        secret = secret_create(actor=SYSTEM, name=name)
        for environment in Environment.objects.all():
            secret_set_value(actor=SYSTEM, secret=secret, environment=environment, value=f"{name}-canary")
    route = route_update(
        actor=SYSTEM,
        route=world["route"],
        inject_headers_json={"Authorization": "Bearer {{secret:STRIPE_KEY}}"},
    )
    route_override_update(
        actor=SYSTEM,
        route=route,
        environment=Environment.objects.get(name="staging"),
        inject_headers_json={"Authorization": "Bearer {{secret:STRIPE_TEST_KEY}}"},
        inject_body_json={"account": "{{secret:ACCOUNT}}"},
    )
    client = Client()
    client.force_login(make_user("viewer", password=None))
    rows = client.get(f"/routes/{route.pk}/secrets/").context["rows"]
    by_env = {row["environment"].name: [u["placeholder"] for u in row["uses"]] for row in rows}
    assert by_env == {
        "production": ["secret:STRIPE_KEY"],
        "development": ["secret:STRIPE_KEY"],
        "staging": ["secret:STRIPE_TEST_KEY", "secret:ACCOUNT"],
    }
    assert b"-canary" not in client.get(f"/routes/{route.pk}/secrets/").content
