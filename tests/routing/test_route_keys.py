"""A route's name can never take another route's traffic.

`x-knoxcall-route` picks a route by slug or UUID first and by name only when the name is unambiguous; writes
refuse a name or slug that would shadow another route's key, through the service, /v1, the console form and
`knoxcall apply`. Rows written behind validation's back (an older database) are resolved the same safe way.
"""

from io import StringIO

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from core.audit import SYSTEM, bump_config_version
from environments.services import api_key_create
from routing.keys import route_index
from routing.models import Route
from routing.services import route_create, route_duplicate, route_update
from tests.api.conftest import Api
from tests.support.access import allow_local_callers
from tests.support.console import make_user
from tests.support.upstream import RecordingUpstream


@pytest.fixture(scope="module")
def attacker_upstream() -> RecordingUpstream:
    """The server the attacker owns: it must never see a call meant for the victim's route."""
    return RecordingUpstream().start()


@pytest.fixture
def attacker(attacker_upstream: RecordingUpstream) -> RecordingUpstream:
    attacker_upstream.clear()
    return attacker_upstream


@pytest.fixture
def victim(environments, upstream) -> Route:
    """Callers select it with `x-knoxcall-route: rec`; its name starts with A so it sorts first."""
    return allow_local_callers(
        route_create(actor=SYSTEM, name="Archive records", slug="rec", target_base_url=upstream.url + "/a")
    )


def _refused_fields(**kwargs) -> dict:
    with pytest.raises(ValidationError) as refused:
        route_create(actor=SYSTEM, target_base_url="https://attacker.example.com", **kwargs)
    return refused.value.message_dict


def test_it_refuses_a_name_that_is_another_routes_slug(victim):
    assert "slug" in _refused_fields(name="rec")["name"][0]
    assert "name" in _refused_fields(name="REC", slug="other")
    assert "name" in _refused_fields(name=str(victim.pk).upper(), slug="by-id")
    assert not Route.objects.exclude(pk=victim.pk).exists()


def test_it_refuses_a_slug_that_is_another_routes_name_or_id(victim):
    route_update(actor=SYSTEM, route=victim, name="ledger")
    assert "name or id" in _refused_fields(name="Books", slug="ledger")["slug"][0]
    assert "slug" in _refused_fields(name="Books", slug=str(victim.pk))


def test_it_refuses_names_that_differ_only_in_letter_case(victim):
    assert "letter case" in _refused_fields(name="ARCHIVE RECORDS", slug="shout")["name"][0]


def test_it_refuses_renaming_a_route_to_another_routes_slug(victim, upstream):
    other = route_create(actor=SYSTEM, name="Other", slug="other", target_base_url=upstream.url)
    with pytest.raises(ValidationError) as refused:
        route_update(actor=SYSTEM, route=other, name="rec")
    assert set(refused.value.message_dict) == {"name"}
    assert Route.objects.get(pk=other.pk).name == "Other"


def test_it_derives_slugs_and_copy_names_that_shadow_nothing(victim, upstream):
    route_update(actor=SYSTEM, route=victim, name="orders")
    route = route_create(actor=SYSTEM, name="Orders!", target_base_url=upstream.url)
    assert route.slug == "orders-2"  # "orders" is the victim's name, so callers would be ambiguous
    route_create(actor=SYSTEM, name="orders! (COPY)", slug="shouting-copy", target_base_url=upstream.url)
    assert route_duplicate(actor=SYSTEM, route=route).name == "Orders! (copy 2)"


def test_it_answers_400_naming_the_field_on_v1(victim):
    _, raw_key = api_key_create(actor=SYSTEM, name="ops", role="administrator")
    response = Api(raw_key).post(
        "/v1/routes", {"name": "rec", "target_base_url": "https://attacker.example.com"}
    )
    assert response.status_code == 400
    assert list(response.body["fields"]) == ["name"]
    assert "slug or id" in response.body["fields"]["name"][0]


def test_it_shows_the_refusal_at_the_field_in_the_console_form(victim):
    client = Client()
    client.force_login(make_user("administrator", password=None))
    form = {
        "name": "rec",
        "target_base_url": "https://attacker.example.com",
        "timeout_ms": "30000",
        "rate_limit_requests": "100",
        "rate_limit_window_sec": "60",
        "rate_limit_burst": "0",
        "inject_headers_json": "{}",
        "inject_body_json": "{}",
    }
    response = client.post("/routes/new/", form)
    assert response.status_code == 400
    assert "slug or id" in response.context["form"].errors["name"][0]
    assert "slug or id" in response.content.decode().split('class="field-error"', 1)[1][:300]
    assert Route.objects.count() == 1


def test_it_refuses_the_shadowing_name_in_knoxcall_apply(victim, tmp_path):
    out = StringIO()
    call_command("knoxcall", "export", stdout=out)
    document = yaml.safe_load(out.getvalue())
    copy = {
        **document["routes"][0],
        "slug": "mirror",
        "name": "REC",
        "target_base_url": "https://a.example.com",
    }
    document["routes"].append({k: v for k, v in copy.items() if k not in ("overrides", "clients")})
    path = tmp_path / "hijack.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(CommandError, match="name"):
        call_command("knoxcall", "apply", str(path), stdout=StringIO())
    assert not Route.objects.filter(slug="mirror").exists()


def _insert_behind_validation(**fields) -> Route:
    """As an older release (or a hand-edited database) could have left it: no full_clean, no service."""
    route = allow_local_callers(Route.objects.create(**fields))
    bump_config_version()
    return route


def test_the_proxy_sends_a_slug_to_its_route_even_when_a_name_shadows_it(gateway, upstream, attacker, victim):
    for name, slug in (("rec", "attacker-1"), ("REC", "attacker-2"), (str(victim.pk), "attacker-3")):
        _insert_behind_validation(name=name, slug=slug, target_base_url=attacker.url)
    gateway.reload()
    for key in ("rec", "Rec", "REC", str(victim.pk), str(victim.pk).upper(), "Archive records"):
        response = gateway.get("/charge", route=key, headers={"Authorization": "Bearer victim-token"})
        assert response.status_code == 200, (key, response.text)
    assert attacker.received == []
    assert [r.path for r in upstream.received] == ["/a/charge"] * 6
    assert {r.header("authorization") for r in upstream.received} == {"Bearer victim-token"}


def test_the_proxy_selects_no_route_by_a_name_two_routes_share(gateway, upstream, attacker):
    _insert_behind_validation(name="Shared", slug="first", target_base_url=upstream.url)
    _insert_behind_validation(name="shared", slug="second", target_base_url=attacker.url)
    gateway.reload()
    for key in ("Shared", "shared"):
        response = gateway.get("/x", route=key)
        assert (response.status_code, response.json()["code"]) == (404, "route_not_found")
    assert gateway.get("/x", route="first").status_code == 200
    assert attacker.received == [] and len(upstream.received) == 1


def test_the_index_prefers_keys_to_names_and_drops_ambiguous_names():
    index = route_index(
        [
            ("id-a", "Alpha", "rec"),
            ("id-b", "rec", "b"),
            ("id-c", "Twin", "c"),
            ("id-d", "twin", "d"),
            ("id-e", "Solo", "e"),
        ]
    )
    assert [index.find(k) for k in ("rec", " REC ", "b", "ID-B", "solo", "Twin", "alpha")] == [
        "id-a",
        "id-a",
        "id-b",
        "id-b",
        "id-e",
        None,
        "id-a",
    ]
    assert len(index.shadowed) == 3
