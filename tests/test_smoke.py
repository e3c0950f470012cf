from environments.audit import SYSTEM
from routing.services import route_create


def test_it_proxies_to_the_route_target(gateway, upstream):
    route_create(actor=SYSTEM, name="Demo", slug="demo", target_base_url=upstream.url + "/base")
    gateway.reload()
    response = gateway.get("/hello?x=1")
    assert response.status_code == 200, response.text
    assert upstream.complete[0].path == "/base/hello"
