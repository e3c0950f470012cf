"""/v1/account and /v1/environments: shapes, writes through the services, validation errors."""

ENVIRONMENT_KEYS = {
    "id",
    "name",
    "display_name",
    "description",
    "color",
    "is_default",
    "is_protected",
    "region",
    "required_approvals",
    "changes_require_approval",
    "checklist",
    "expires_at",
    "parent",
    "region_group",
    "failover_order",
    "region_down",
    "created_at",
}


def test_it_describes_the_account_with_its_limits(viewer):
    data = viewer.get("/v1/account").body["data"]
    assert data["slug"] == "self-hosted" and data["name"]
    assert data["limits"]["per_page_max"] == 100


def test_it_lists_environments_as_a_bare_array(viewer):
    body = viewer.get("/v1/environments").body
    assert [e["name"] for e in body["data"]] == ["production", "development", "staging"]
    assert set(body["data"][0]) == ENVIRONMENT_KEYS
    assert set(body["meta"]) == {"request_id"}


def test_it_creates_updates_and_deletes_an_environment(admin):
    created = admin.post("/v1/environments", {"name": "qa", "display_name": "QA", "color": "#0ea5e9"})
    assert created.status_code == 201 and set(created.body["data"]) == ENVIRONMENT_KEYS
    updated = admin.patch("/v1/environments/qa", {"description": "For QA", "is_default": True})
    assert updated.body["data"]["is_default"] is True and updated.body["data"]["description"] == "For QA"
    assert admin.get("/v1/environments/production").body["data"]["is_default"] is False
    refused = admin.delete("/v1/environments/qa")
    assert (
        refused.status_code == 400
        and "default environment cannot be deleted" in refused.body["error"]["message"]
    )
    assert admin.delete("/v1/environments/staging").body["data"] == {"deleted": True}
    assert admin.get("/v1/environments/staging").status_code == 404


def test_it_explains_invalid_environments(admin):
    response = admin.post("/v1/environments", {"name": "Not Valid", "color": "red"})
    assert response.status_code == 400
    assert set(response.body["fields"]) == {"name", "color"}
    assert admin.post("/v1/environments", {}).body["fields"] == {"name": ["This field is required."]}
    assert admin.patch("/v1/environments/staging", {"name": "other"}).status_code == 400


def test_it_answers_404_for_unknown_environment_ids_of_any_size(viewer):
    assert viewer.get("/v1/environments/99999999999999999999999999").status_code == 404
    assert viewer.get("/v1/environments/12345").status_code == 404
    assert viewer.get("/v1/environments/staging").body["data"]["name"] == "staging"
