"""Bench data for bench/proxy.py (run by it in a subprocess with the bench's environment).

Two routes to the bench upstream, both callable from 127.0.0.1 (a client) in `staging`:
- `plain`: the client-IP check only, nothing else to do;
- `full`: every check of the proxy on: an API key (hash lookup) and the client allowlist, a route and a key
  rate limit (high enough never to refuse, so every call is counted), and a secret injected into a header.
Prints the API key the `full` scenario sends.
"""

import sys

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from core.audit import SYSTEM  # noqa: E402
from environments.models import Environment  # noqa: E402
from environments.services import api_key_create, client_create, environment_create  # noqa: E402
from routing.services import route_client_assign, route_create  # noqa: E402
from secrets_vault.services import secret_create, secret_set_value  # noqa: E402

UNLIMITED = {"rate_limit_requests": 10**9, "rate_limit_window_sec": 60}


def main(upstream_url: str) -> None:
    call_command("migrate", verbosity=0)
    staging = Environment.objects.filter(name="staging").first() or environment_create(
        actor=SYSTEM, name="staging"
    )
    secret = secret_create(actor=SYSTEM, name="BENCH_TOKEN")
    for environment in Environment.objects.all():
        secret_set_value(actor=SYSTEM, secret=secret, environment=environment, value="bench-secret-value")
    local = client_create(actor=SYSTEM, name="bench-local", ip_address="127.0.0.1")
    plain = route_create(actor=SYSTEM, name="plain", slug="plain", target_base_url=upstream_url)
    full = route_create(
        actor=SYSTEM,
        name="full",
        slug="full",
        target_base_url=upstream_url,
        rate_limit_enabled=True,
        inject_headers_json={"Authorization": "Bearer {{secret:BENCH_TOKEN}}"},
        **UNLIMITED,
    )
    for route in (plain, full):
        route_client_assign(actor=SYSTEM, route=route, environment=staging, client=local)
    _, raw_key = api_key_create(actor=SYSTEM, name="bench", role="viewer", **UNLIMITED)
    print(raw_key)


if __name__ == "__main__":
    main(sys.argv[1])
