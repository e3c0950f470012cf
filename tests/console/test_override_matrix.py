"""The Overrides matrix's markup: a sticky field column, methods as chips, URLs that wrap between parts."""

import re

from django.test import Client

from core.audit import SYSTEM
from routing.services import route_override_update
from tests.support.console import make_user, seed_world

LONG_URL = "https://eu-west-1.payments-gateway.example.com/api/v2/production-mirror"


def _matrix(role: str = "viewer") -> tuple[str, dict]:
    world = seed_world("http://127.0.0.1:9")
    route, envs = world["route"], world["environments"]
    route_override_update(
        actor=SYSTEM,
        route=route,
        environment=envs["staging"],
        allowed_methods=["POST", "GET"],
        target_base_url=LONG_URL,
    )
    client = Client()
    client.force_login(make_user(role, password=None))
    return client.get(f"/routes/{route.pk}/overrides/").content.decode(), world


def _cell(html: str, field: str, environment: str) -> str:
    start = html.index(f'id="cell-{field}-{environment}"')
    return html[start : html.index("</td>", start)]


def test_it_keeps_the_field_column_sticky_inside_a_scrolling_region(db):
    html, _ = _matrix()
    assert re.search(
        r'<div class="matrix-wrap card card-flush" role="region" aria-label="[^"]+" tabindex="0">\s*'
        r'<table class="table matrix" id="override-matrix" data-environments="3">',
        html,
    )
    head = html[html.index("<thead>") : html.index("</thead>")]
    assert '<th scope="col" class="field-col sticky-col">Field</th>' in head
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    assert body.count('<th scope="row" class="field-col sticky-col">') == body.count("<tr>") == 11


def test_it_shows_allowed_methods_as_chips_and_any_when_empty(db):
    html, _ = _matrix()
    staging = _cell(html, "allowed_methods", "staging")
    chips = '<span class="chip chip-method">GET</span><span class="chip chip-method">POST</span>'
    assert f'<span class="chips">{chips}</span>' in staging
    development = _cell(html, "allowed_methods", "development")
    assert '<span class="chip chip-any" title="Every method is allowed">any</span>' in development
    assert "[]" not in html[html.index("<tbody>") : html.index("</tbody>")]


def test_it_lets_a_url_wrap_only_between_its_parts(db):
    html, _ = _matrix()
    staging = _cell(html, "target_base_url", "staging")
    # Break opportunities after "//" and before each "/" and ".", never inside a word; the whole value on
    # hover, and copied text stays the URL (a <wbr> adds no character).
    assert (
        "https://<wbr>eu-west-1<wbr>.payments-gateway<wbr>.example<wbr>.com<wbr>/api<wbr>/v2<wbr>/production-mirror"
        in staging
    )
    assert f'title="{LONG_URL}"' in staging and 'class="cell-value mono cell-url"' in staging
    assert re.sub(r"<wbr>", "", staging).count(LONG_URL) == 2


def test_it_answers_an_edited_cell_in_the_same_markup(db):
    _, world = _matrix("administrator")
    client = Client()
    client.force_login(make_user("developer", password=None))
    response = client.post(
        f"/routes/{world['route'].pk}/overrides/development/allowed_methods/",
        {"allowed_methods-development-value": "get, head"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert (
        '<span class="chip chip-method">GET</span><span class="chip chip-method">HEAD</span>'
        in response.content.decode()
    )
