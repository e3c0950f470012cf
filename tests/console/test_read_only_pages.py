"""A Viewer reads the pages other issues added but is offered no control that a service would refuse."""

import pytest
from django.test import Client

from tests.console.test_role_view_table import seed_more
from tests.support.console import make_user, seed_world

PAGES = [
    "/secrets/",
    "/secrets/{secret}/",
    "/environments/clients/",
    "/environments/clients/{client}/",
    "/environments/api-keys/",
    "/alerts/rules/{rule}/",
    "/alerts/channels/{channel}/",
    "/alerts/channels/",
    "/routes/{route}/clients/",
]


@pytest.mark.parametrize("path", PAGES)
def test_it_shows_a_viewer_no_write_form(db, path):
    ids = seed_more(seed_world("http://127.0.0.1:9"))
    client = Client()
    client.force_login(make_user("viewer", password=None))
    html = client.get(path.format(**ids)).content.decode()
    main = html.split('<main id="main"', 1)[1]
    assert 'method="post"' not in main
    assert "s3cr3t" not in main and 'type="password"' not in main


def test_it_offers_a_developer_no_api_key_form_and_no_production_value_field(db):
    ids = seed_more(seed_world("http://127.0.0.1:9"))
    client = Client()
    client.force_login(make_user("developer", password=None))
    assert 'name="role"' not in client.get("/environments/api-keys/").content.decode()
    detail = client.get(f"/secrets/{ids['secret']}/").content.decode()
    assert 'id="value-staging"' in detail and 'id="value-production"' not in detail
