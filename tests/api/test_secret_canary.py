"""No answer of the API carries a secret value: a canary is looked for in every GET of the schema."""

import json
import re

from analytics.models import RequestLog
from core.models import AuditEntry, IdempotencyRecord

CANARY = "canary-5f3c-never-shown"


def test_it_never_returns_a_secret_value(admin):
    writes = [
        admin.post(
            "/v1/secrets",
            {"name": "TOKEN", "secret_type": "api_key", "value": f"{CANARY}-prod"},
            headers={"X-Idempotency-Key": "canary-1"},
        ),
        admin.put("/v1/secrets/TOKEN/value", {"value": f"{CANARY}-staging", "environment": "staging"}),
        admin.put("/v1/secrets/TOKEN/value", {"value": f"{CANARY}-dev", "environment": "development"}),
        admin.post(
            "/v1/routes",
            {
                "name": "Orders",
                "target_base_url": "https://a.example.com",
                "inject_headers_json": {"Authorization": "Bearer {{secret:TOKEN}}"},
            },
        ),
        admin.put(
            "/v1/routes/orders/environments/staging", {"inject_body_json": {"key": "{{secret:TOKEN}}"}}
        ),
    ]
    assert [w.status_code for w in writes] == [201, 200, 200, 201, 200]
    RequestLog.objects.create(
        request_id="req-1",
        timestamp="2026-01-01T00:00:00Z",
        method="GET",
        path="/",
        status=200,
        latency_ms=1.0,
        secrets_used=["TOKEN"],
    )
    promotion = admin.post("/v1/promotions", {"source": "staging", "target": "production", "title": "Canary"})
    assert promotion.status_code == 201, promotion.body
    # The rollback first: a running release owns its candidate's fields (409 release_in_progress).
    rollback = admin.post("/v1/routes/orders/rollback", {"to_revision": 1})
    assert rollback.status_code == 200 and rollback.body["data"]["deployment"], rollback.body
    release = admin.post(
        "/v1/routes/orders/environments/staging/releases",
        {"candidate": {"target_base_url": "https://b.example.com"}},
    )
    assert release.status_code == 201, release.body
    ids = {
        "{deployment}": rollback.body["data"]["deployment"],
        "{release}": release.body["data"]["id"],
        "{route}": "orders",
        "{env}": "staging",
        "{secret}": "TOKEN",
        "{request_id}": "req-1",
        "{n}": "1",
        "{promotion}": promotion.body["data"]["id"],
    }
    required_query = {"from": "production", "to": "staging"}  # the compare endpoint's environments
    schema = admin.get("/v1/openapi.json").body
    answers = [json.dumps(w.body) for w in [*writes, rollback]]
    for path, operations in schema["paths"].items():
        if "get" not in operations or re.search(r"\{(client|key|rule|incident|network)\}", path):
            continue
        for placeholder, value in ids.items():
            path = path.replace(placeholder, value)
        parameters = operations["get"].get("parameters", [])
        query = [p["name"] for p in parameters if p["in"] == "query" and p.get("required")]
        response = admin.get(path, **{name: required_query[name] for name in query})
        assert response.status_code == 200, path
        answers.append(response.content.decode())
    assert len(answers) > 20
    assert not [a for a in answers if CANARY in a]
    stored = json.dumps([r.response for r in IdempotencyRecord.objects.all()])
    audit = json.dumps([[e.before, e.after] for e in AuditEntry.objects.all()])
    assert CANARY not in stored and CANARY not in audit
