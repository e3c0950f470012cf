"""The environment stylesheet gives every environment a colour of its own, whatever colours were stored."""

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from core.audit import SYSTEM
from environments.services import environment_create
from tests.alerts.conftest import add_traffic
from tests.support.console import make_user, seed_world


def _colors(client: Client) -> dict[str, str]:
    css = client.get("/theme/environments.css").content.decode()
    return dict(re.findall(r"\.env-([a-z0-9_-]+)\{--env:(#[0-9a-f]{6})\}", css))


def test_it_paints_environments_that_share_a_colour_differently(db):
    seed_world("http://127.0.0.1:9")  # production red, staging amber, development green
    environment_create(actor=SYSTEM, name="qa")  # the model's default colour
    environment_create(actor=SYSTEM, name="preview")  # the same default
    environment_create(actor=SYSTEM, name="eu-west", color="#DC2626")  # production's red
    client = Client()
    client.force_login(make_user("viewer", password=None))

    colors = _colors(client)
    assert set(colors) == {"production", "staging", "development", "qa", "preview", "eu-west"}
    assert len(set(colors.values())) == 6
    # The first to hold a colour keeps it (creation order), so adding environments repaints nobody.
    assert colors["production"] == "#dc2626" and colors["staging"] == "#d97706" and colors["qa"] == "#6366f1"


def test_it_draws_chart_lines_in_the_same_distinct_colours(db):
    seed_world("http://127.0.0.1:9")
    environment_create(actor=SYSTEM, name="eu-west", color="#dc2626")
    for minute in range(1, 4):
        for name in ("production", "eu-west"):
            add_traffic(name, total=10, minute=timezone.now() - timedelta(minutes=minute))
    client = Client()
    client.force_login(make_user("viewer", password=None))
    colors = _colors(client)

    html = client.get("/analytics/?window=15m").content.decode()
    strokes = set(
        re.findall(r'<polyline class="series" data-environment="([a-z0-9_-]+)"[^>]* stroke="(#\w+)"', html)
    )
    assert ("production", "#dc2626") in strokes and ("eu-west", colors["eu-west"]) in strokes
    assert colors["eu-west"] != colors["production"]
