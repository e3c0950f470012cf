"""Where the proxy connects, and what a caller learns when it cannot: the SSRF rules hold for the address a
name resolves to (not only for the URL's text), and a failed upstream's address never reaches the caller."""

import json
import socket
import uuid

import httpx
import pytest
from django.core.exceptions import ValidationError

from analytics import recorder
from analytics.models import RequestLog
from core.audit import SYSTEM
from routing.services import route_create
from tests.support.access import allow_local_callers
from tests.support.dns import resolve_names
from tests.support.gateway_process import GatewayProcess


def a_route(target: str) -> str:
    slug = f"r-{uuid.uuid4().hex[:8]}"
    allow_local_callers(route_create(actor=SYSTEM, name=slug, slug=slug, target_base_url=target))
    return slug


def test_it_refuses_at_connect_a_name_that_resolves_to_loopback(gateway, upstream, settings, monkeypatch):
    name = f"api-{uuid.uuid4().hex[:8]}.example.com"  # its text is a public name: saving it is allowed
    resolve_names(monkeypatch, {name: "127.0.0.1"})
    slug = a_route(f"http://{name}:{upstream.port}")
    gateway.reload()
    settings.UPSTREAM_ALLOWED_HOSTS = []  # the suite allows loopback upstreams; production does not

    response = gateway.get("/x", route=slug)

    assert response.status_code == 502
    assert response.json()["code"] == "upstream_forbidden"
    assert upstream.received == []
    recorder.flush()
    log = RequestLog.objects.get(route_slug=slug)
    assert log.error_code == "upstream_forbidden" and "127.0.0.1" in log.error_detail


@pytest.mark.parametrize("allowed", ["name", "address"])
def test_it_connects_when_the_allow_list_names_the_host_or_its_address(
    gateway, upstream, settings, monkeypatch, allowed
):
    name = f"api-{uuid.uuid4().hex[:8]}.example.com"
    resolve_names(monkeypatch, {name: "127.0.0.1"})
    slug = a_route(f"http://{name}:{upstream.port}")
    gateway.reload()
    settings.UPSTREAM_ALLOWED_HOSTS = [name] if allowed == "name" else ["127.0.0.0/8"]

    response = gateway.get("/x", route=slug)

    assert response.status_code == 200
    assert len(upstream.complete) == 1


def test_it_refuses_at_connect_a_loopback_address_the_allow_list_no_longer_covers(
    gateway, upstream, settings
):
    slug = a_route(upstream.url)
    gateway.reload()
    settings.UPSTREAM_ALLOWED_HOSTS = []

    response = gateway.get("/x", route=slug)

    assert (response.status_code, response.json()["code"]) == (502, "upstream_forbidden")
    assert upstream.received == []


@pytest.mark.parametrize(
    "url",
    [
        "http://metadata.google.internal./computeMetadata/v1",
        "http://app.localhost.:8080",
        "http://localhost.",
        "http://LOCALHOST..",
        "http://127.1:8080",
        "http://2130706433",
        "http://ｌｏｃａｌｈｏｓｔ:8080",
    ],
)
def test_it_refuses_trailing_dot_and_numeric_spellings_of_internal_hosts_at_write_time(
    environments, settings, url
):
    settings.UPSTREAM_ALLOWED_HOSTS = []
    with pytest.raises(ValidationError, match="target_base_url"):
        route_create(actor=SYSTEM, name="Sneaky", slug="sneaky", target_base_url=url)


def test_it_tells_the_caller_no_upstream_address_when_the_upstream_is_unreachable(gateway):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    slug = a_route(f"http://127.0.0.1:{closed_port}")
    gateway.reload()

    response = gateway.get("/x", route=slug)

    assert response.status_code == 502
    answer = response.json()
    assert answer["code"] == "upstream_unavailable"
    del answer["request_id"]  # random hex, which could hold any digits
    assert "127.0.0.1" not in json.dumps(answer) and str(closed_port) not in json.dumps(answer)
    recorder.flush()
    log = RequestLog.objects.get(route_slug=slug)
    assert log.error_code == "upstream_unavailable"
    assert f"127.0.0.1:{closed_port}" in log.error_detail


@pytest.mark.parametrize("client", ["http1", "aiohttp", "httpx"])
def test_each_upstream_client_checks_the_resolved_address_of_localhost(environments, upstream, client):
    """`localhost` resolves through the system's hosts file in a gateway process of its own (no fake DNS)."""
    slug = a_route(f"http://localhost:{upstream.port}")  # saved while the suite's allow-list covers it
    answers = {}
    for allowed in ("", "localhost"):
        env = {"KNOXCALL_UPSTREAM_CLIENT": client, "KNOXCALL_UPSTREAM_ALLOWED_HOSTS": allowed}
        gateway = GatewayProcess(env).start()
        try:
            answers[allowed] = httpx.get(f"{gateway.url}/x", headers={"x-knoxcall-route": slug}, timeout=30)
        finally:
            gateway.stop()
    assert (answers[""].status_code, answers[""].json()["code"]) == (502, "upstream_forbidden")
    assert answers["localhost"].status_code == 200
    assert len(upstream.received) == 1
    assert upstream.received[0].header("host") == f"localhost:{upstream.port}"
