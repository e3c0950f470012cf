"""Save-time checks of injected templates: missing secrets, renames, CR/LF/NUL."""

import pytest
from django.core.exceptions import ValidationError

from core.audit import SYSTEM
from routing.services import route_create, route_override_update, route_update
from secrets_vault.services import secret_rename, secret_set_value
from tests.secrets_vault.conftest import make_secret
from tests.support.access import allow_local_callers


def test_it_reports_unknown_secrets_and_missing_values_on_save(upstream, environments):
    make_secret(environments, "HALF", {"production": "p"})
    with pytest.raises(ValidationError) as caught:
        route_create(
            actor=SYSTEM,
            name="R",
            target_base_url=upstream.url,
            inject_headers_json={"X-A": "{{secret:HALF}}", "X-B": "{{secret:NOPE}}"},
        )
    message = " ".join(caught.value.messages)
    assert "{{secret:NOPE}}: no such secret" in message
    assert "{{secret:HALF}}: no value in environment development" in message
    assert "{{secret:HALF}}: no value in environment staging" in message
    assert "production" not in message


def test_it_checks_an_override_only_where_it_applies(upstream, environments):
    secret = make_secret(environments, "ONLY_DEV", {"development": "d"})
    route = route_create(actor=SYSTEM, name="R", target_base_url=upstream.url)
    route_override_update(
        actor=SYSTEM,
        route=route,
        environment=environments["development"],
        inject_headers_json={"X-Key": "{{secret:ONLY_DEV}}"},
    )
    with pytest.raises(ValidationError, match="no value in environment staging"):
        route_override_update(
            actor=SYSTEM,
            route=route,
            environment=environments["staging"],
            inject_headers_json={"X-Key": "{{secret_id:" + str(secret.pk) + "}}"},
        )


def test_secret_id_survives_a_rename_while_secret_name_is_reported_broken(gateway, upstream, environments):
    secret = make_secret(environments, "OLD_NAME", {e: f"value-{e}" for e in environments})
    by_id = route_create(
        actor=SYSTEM,
        name="ById",
        slug="by-id",
        target_base_url=upstream.url,
        inject_headers_json={"X-Key": "{{secret_id:" + str(secret.pk) + "}}"},
    )
    by_name = route_create(
        actor=SYSTEM,
        name="ByName",
        slug="by-name",
        target_base_url=upstream.url,
        inject_headers_json={"X-Key": "{{secret:OLD_NAME}}"},
    )
    allow_local_callers(by_id)
    allow_local_callers(by_name)
    secret_rename(actor=SYSTEM, secret=secret, name="NEW_NAME")
    gateway.reload()
    assert gateway.get("/x", route="by-id", environment="staging").status_code == 200
    assert upstream.complete[0].header("x-key") == "value-staging"
    with pytest.raises(ValidationError, match=r"\{\{secret:OLD_NAME\}\}: no such secret"):
        route_update(actor=SYSTEM, route=by_name, inject_headers_json={"X-Key": "{{secret:OLD_NAME}}"})
    upstream.clear()
    refused = gateway.get("/x", route="by-name", environment="staging")
    assert refused.json()["code"] == "secret_missing" and upstream.received == []


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Key\r\nX-Evil": "v"},
        {"X-Key": "a\r\nX-Evil: 1"},
        {"X-Key": "a\nb"},
        {"X-Key": "a\x00b"},
        {"X\x00Key": "v"},
    ],
)
def test_it_refuses_cr_lf_and_nul_in_header_names_and_values(upstream, environments, headers):
    with pytest.raises(ValidationError, match="CR, LF or NUL"):
        route_create(actor=SYSTEM, name="R", target_base_url=upstream.url, inject_headers_json=headers)


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\x00b"])
def test_it_refuses_cr_lf_and_nul_in_secret_values(environments, value):
    secret = make_secret(environments, "S", {})
    with pytest.raises(ValidationError, match="cannot contain CR, LF or NUL") as caught:
        secret_set_value(actor=SYSTEM, secret=secret, environment=environments["staging"], value=value)
    assert value not in str(caught.value)


@pytest.mark.parametrize(
    "headers, error",
    [
        ({"Host": "x"}, "set by the gateway"),
        ({"Connection": "x"}, "set by the gateway"),
        ({"x-knoxcall-route": "x"}, "set by the gateway"),
        ({"Bad Name": "x"}, "not a valid header name"),
        ({"X-A": "{{secret:}}"}, "Unknown placeholder"),
        ({"X-A": "{{secret_id:nope}}"}, "not a secret UUID"),
        ({"X-A": "{{whatever}}"}, "Unknown placeholder"),
    ],
)
def test_it_refuses_bad_header_templates(upstream, environments, headers, error):
    with pytest.raises(ValidationError, match=error):
        route_create(actor=SYSTEM, name="R", target_base_url=upstream.url, inject_headers_json=headers)


def test_it_refuses_a_body_template_that_is_not_an_object(upstream, environments):
    with pytest.raises(ValidationError, match="JSON object"):
        route_create(actor=SYSTEM, name="R", target_base_url=upstream.url, inject_body_json=["x"])
