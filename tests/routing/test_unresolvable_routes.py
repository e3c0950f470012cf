"""One route the table cannot resolve costs only itself.

A row with `http://127.0.0.1:99999` (written behind validation's back, as an older release could have) used
to make every rebuild fail: revoked keys kept working and a new process answered 500 to everything. Now the
row is left out and reported (log, /readyz, console banner) while the rest of the table stays current, and
writes refuse such targets with a clear message.
"""

import time

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from core.audit import SYSTEM, bump_config_version
from core.models import ConfigVersion
from environments.services import api_key_create, api_key_revoke
from knoxcall.lib.servers import SERVERS
from routing.models import Route, RouteOverride
from routing.proxy import snapshot
from routing.services import route_create, route_override_update
from routing.table import build_route_table
from tests.api.conftest import Api
from tests.support.access import allow_local_callers
from tests.support.console import make_user
from tests.support.gateway_process import GatewayProcess

BAD_PORT = "http://127.0.0.1:99999"
LONG_LABEL = "https://" + "a" * 64 + ".example.com"
NOT_IDNA = "https://exa\ufffdmple.com"


@pytest.fixture
def good(gateway, upstream) -> Route:
    return allow_local_callers(
        route_create(actor=SYSTEM, name="Good", slug="good", target_base_url=upstream.url)
    )


def insert_broken_route() -> Route:
    """As an older release (or a hand-edited database) could have left it: no validation, no service."""
    route = allow_local_callers(Route.objects.create(name="Broken", slug="broken", target_base_url=BAD_PORT))
    bump_config_version()
    return route


def wait_for_the_watcher() -> None:
    """Let the gateway's own watcher thread pick up the latest version, as it would in production."""
    wanted = ConfigVersion.objects.get(pk=1).version
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        table = snapshot.current()
        if table is not None and table.version == wanted:
            return
        time.sleep(0.05)
    pytest.fail(
        f"the gateway still serves version {getattr(snapshot.current(), 'version', None)} of {wanted}"
    )


def test_a_revoked_key_stops_working_although_a_route_cannot_be_resolved(gateway, upstream, good):
    # No client is assigned to this route: only an API key lets a call in.
    route_create(
        actor=SYSTEM, name="Keyed", slug="keyed", target_base_url=upstream.url, requires_clients=False
    )
    api_key, raw_key = api_key_create(actor=SYSTEM, name="leaver", role="viewer")
    gateway.reload()
    assert gateway.get("/x", route="keyed", headers={"x-knoxcall-key": raw_key}).status_code == 200
    assert gateway.get("/x", route="keyed").status_code == 401
    insert_broken_route()
    api_key_revoke(actor=SYSTEM, api_key=api_key)
    wait_for_the_watcher()
    refused = gateway.get("/x", route="keyed", headers={"x-knoxcall-key": raw_key})
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_api_key")
    assert gateway.get("/x", route="good", environment="staging").status_code == 200


def test_calls_to_the_unresolvable_route_get_a_json_gateway_error(gateway, upstream, good):
    insert_broken_route()
    wait_for_the_watcher()
    for environment in ("production", "staging", "development"):
        response = gateway.get("/x", route="broken", environment=environment)
        assert response.status_code == 503
        body = response.json()
        assert (body["code"], body["status"]) == ("route_unavailable", 503)
        assert body["request_id"] == response.headers["x-request-id"]
        assert "99999" not in body["error"]  # the target stays with staff
    assert [r.path for r in upstream.received] == []
    assert gateway.get("/x", route="good").status_code == 200


def test_only_the_environment_whose_override_is_bad_is_left_out(gateway, upstream, good, environments):
    RouteOverride.objects.create(route=good, environment=environments["staging"], target_base_url=BAD_PORT)
    bump_config_version()
    wait_for_the_watcher()
    assert gateway.get("/x", route="good", environment="staging").json()["code"] == "route_unavailable"
    assert gateway.get("/x", route="good", environment="production").status_code == 200
    table = snapshot.current()
    assert [(u.slug, u.environment) for u in table.unresolvable] == [("good", "staging")]
    assert "65535" in table.unresolvable[0].reason


def test_a_fresh_build_serves_the_other_routes_and_names_the_bad_one(gateway, good):
    insert_broken_route()
    table = build_route_table()
    assert table.resolve(str(good.pk), "production").target_base_url.endswith(good.target_base_url[-5:])
    assert sorted({(u.route_name, u.environment) for u in table.unresolvable}) == [
        ("Broken", "development"),
        ("Broken", "production"),
        ("Broken", "staging"),
    ]


@pytest.mark.parametrize("server", SERVERS)
def test_a_process_started_meanwhile_serves_the_rest_and_reports_degraded(gateway, upstream, good, server):
    insert_broken_route()
    process = GatewayProcess(server=server).start()
    try:
        ready = httpx.get(process.url + "/readyz", timeout=30)  # before any proxied call
        served = httpx.get(process.url + "/x", headers={"x-knoxcall-route": "good"}, timeout=30)
        broken = httpx.get(process.url + "/x", headers={"x-knoxcall-route": "broken"}, timeout=30)
    finally:
        process.stop()
    assert served.status_code == 200, served.text
    assert (broken.status_code, broken.json()["code"]) == (503, "route_unavailable")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "degraded",
        "unavailable_routes": [
            {"name": "Broken", "slug": "broken", "environments": ["development", "production", "staging"]}
        ],
    }


def test_readyz_names_the_route_and_is_ok_again_once_it_is_fixed(gateway, good):
    route = insert_broken_route()
    client = Client()
    body = client.get("/readyz").json()
    assert body["status"] == "degraded" and [r["name"] for r in body["unavailable_routes"]] == ["Broken"]
    Route.objects.filter(pk=route.pk).update(target_base_url="http://127.0.0.1:9")
    bump_config_version()
    assert client.get("/readyz").json() == {"status": "ok"}


@pytest.mark.parametrize("page", ["/", "/routes/", "/environments/", "/audit/"])
def test_every_console_page_shows_staff_the_unresolvable_routes(gateway, good, page):
    route = insert_broken_route()
    client = Client()
    client.force_login(make_user("viewer", password=None))
    html = client.get(page).content.decode()
    banner = html.split('class="alert alert-error unavailable-routes"', 1)[1].split("</div>", 1)[0]
    assert f'href="/routes/{route.pk}/"' in banner and "Broken" in banner and "route_unavailable" in banner
    assert "port must be a number from 1 to 65535" in banner
    assert "Good" not in banner


def test_no_banner_when_every_route_resolves(gateway, good):
    client = Client()
    client.force_login(make_user("viewer", password=None))
    assert "unavailable-routes" not in client.get("/routes/").content.decode()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (BAD_PORT, "port must be a number from 1 to 65535"),
        ("http://127.0.0.1:0", "port must be a number from 1 to 65535"),
        ("https://api.example.com:http", "port must be a number from 1 to 65535"),
        (LONG_LABEL, "longer than 63 characters"),
        ("https://" + ".".join(["a" * 60] * 5), "longer than 253 characters"),
        (NOT_IDNA, "not a valid international (IDNA) name"),
        ("https://a..example.com", "empty label"),
        ("https://api.example.com/" + "p" * 2100, "at most 2048 are allowed"),
    ],
)
def test_the_service_refuses_a_target_the_table_could_not_resolve(environments, url, message):
    with pytest.raises(ValidationError) as refused:
        route_create(actor=SYSTEM, name="Bad", slug="bad", target_base_url=url)
    assert message in refused.value.message_dict["target_base_url"][0]
    route = route_create(actor=SYSTEM, name="Fine", slug="fine", target_base_url="https://api.example.com")
    with pytest.raises(ValidationError) as refused:
        route_override_update(
            actor=SYSTEM, route=route, environment=environments["staging"], target_base_url=url
        )
    assert message in refused.value.message_dict["target_base_url"][0]
    assert not Route.objects.filter(slug="bad").exists() and not RouteOverride.objects.exists()


@pytest.mark.parametrize("url", [BAD_PORT, LONG_LABEL, NOT_IDNA])
def test_v1_answers_400_naming_the_target_field(environments, url):
    _, raw_key = api_key_create(actor=SYSTEM, name="ops", role="administrator")
    api = Api(raw_key)
    created = api.post("/v1/routes", {"name": "Bad", "target_base_url": url})
    assert created.status_code == 400
    assert list(created.body["fields"]) == ["target_base_url"]
    api.post("/v1/routes", {"name": "Fine", "target_base_url": "https://api.example.com"})
    override = api.put("/v1/routes/fine/environments/staging", {"target_base_url": url})
    assert override.status_code == 400
    assert list(override.body["fields"]) == ["target_base_url"]
