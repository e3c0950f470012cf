"""page/per_page pagination of list endpoints: default 20, at most 100, totals in meta."""

from core.audit import SYSTEM
from routing.services import route_create


def make_routes(count: int) -> None:
    for n in range(count):
        route_create(actor=SYSTEM, name=f"r{n:03d}", target_base_url="https://api.example.com")


def test_it_pages_20_by_default(admin):
    make_routes(25)
    body = admin.get("/v1/routes").body
    assert len(body["data"]) == 20
    assert {k: body["meta"][k] for k in ("total", "page", "per_page", "total_pages")} == {
        "total": 25,
        "page": 1,
        "per_page": 20,
        "total_pages": 2,
    }
    second = admin.get("/v1/routes", page=2).body
    assert [r["name"] for r in second["data"]] == [f"r{n:03d}" for n in range(20, 25)]


def test_it_caps_per_page_at_100_and_answers_empty_past_the_end(admin):
    make_routes(3)
    assert admin.get("/v1/routes", per_page=500).body["meta"]["per_page"] == 100
    beyond = admin.get("/v1/routes", page=9).body
    assert beyond["data"] == [] and beyond["meta"]["total"] == 3


def test_it_refuses_a_page_that_is_not_a_number(admin):
    response = admin.get("/v1/routes", per_page="lots")
    assert response.status_code == 400
    assert response.body["fields"] == {"per_page": ["per_page must be a whole number."]}
