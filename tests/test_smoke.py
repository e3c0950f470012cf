from environments.audit import SYSTEM
from routing.services import route_create
from tests.support.access import allow_local_callers


def test_it_proxies_to_the_route_target(gateway, upstream):
    route = route_create(actor=SYSTEM, name="Demo", slug="demo", target_base_url=upstream.url + "/base")
    allow_local_callers(route)
    gateway.reload()
    response = gateway.get("/hello?x=1")
    assert response.status_code == 200, response.text
    assert upstream.complete[0].path == "/base/hello"
