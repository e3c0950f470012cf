"""Run by tests/api/test_sdk_contract.py in a subprocess with the official `knoxcall` SDK on sys.path.

argv: base_url api_key upstream_url. Prints one JSON object of what the SDK saw. Only SDK calls talk to
the server; nothing here knows our API beyond what the SDK itself sends and parses.
"""

import json
import sys
import time

from knoxcall import KnoxCall, NotFoundError


def until(fetch, ready, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while True:
        value = fetch()
        if ready(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def main(base_url: str, api_key: str, upstream_url: str) -> dict:
    seen: dict = {}
    client = KnoxCall(api_key=api_key, base_url=base_url, retry_max_attempts=1)
    seen["environments_before"] = [e["name"] for e in client.environments.list()]
    seen["created_environment"] = client.environments.create(name="qa", display_name="QA", color="#0ea5e9")
    seen["environments_after"] = [e["name"] for e in client.environments.list()]

    route = client.routes.create(name="Orders API", target_base_url=upstream_url)
    seen["route"] = client.routes.update(route["id"], requires_clients=False)
    secret = client.secrets.create(
        name="ORDERS_TOKEN", secret_type="api_key", value="sdk-canary-production", environment="production"
    )
    seen["secret_created"] = secret
    seen["value_qa"] = client.secrets.set_value(secret["id"], value="sdk-canary-qa", environment="qa")
    seen["value_qa_again"] = client.secrets.set_value(secret["id"], value="sdk-canary-qa-2", environment="qa")
    seen["secret"] = client.secrets.get(secret["id"])

    seen["override_qa"] = client.routes.upsert_environment(
        route["slug"],
        "qa",
        target_base_url=f"{upstream_url}/qa",
        inject_headers={"Authorization": "Bearer {{secret:ORDERS_TOKEN}}"},
    )
    client.routes.upsert_environment(route["slug"], "staging", rate_limit_enabled=True, rate_limit_requests=5)
    client.routes.delete_environment(route["slug"], "staging")
    seen["route_environments"] = client.routes.list_environments(route["slug"])
    seen["route_detail"] = client.routes.get(route["slug"])
    seen["client"] = client.clients.create(name="ci-runner", ip_address="203.0.113.7")
    seen["client_detail"] = client.clients.get(seen["client"]["id"])
    seen["client_credentials"] = client.clients.list_credentials(seen["client"]["id"])

    def call():
        return client.call(route["slug"], path="/orders/42", query={"x": "1"}, environment="qa")

    # The gateway applies configuration within its poll interval (0.25 s here): a call made at once can be
    # served by a table that has the route but not yet the qa override written just before it.
    time.sleep(1.0)
    response = until(call, lambda r: r.status_code != 404)
    seen["call"] = {
        "status": response.status_code,
        "body": response.json(),
        "request_id": response.headers.get("x-request-id"),
    }

    logs = until(lambda: client._run(client._async.logs.list(route_id=route["id"])), lambda p: p["data"])
    seen["logs"] = logs
    try:
        seen["log"] = client._run(client._async.logs.get(seen["call"]["request_id"]))
    except NotFoundError:
        seen["log"] = None
    seen["audit"] = client.audit_logs.list(resource_type="route", per_page=50)
    seen["account"] = client.account.get()
    client.close()
    return seen


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
