"""Every console view × every role: the status code each one gets.

anon = not signed in (redirected to the login page), then Viewer, Developer, Administrator. A 403 comes from
the services' refusal (or a form page only editors may open); 302 after a POST is a change that was made.
Viewers read everything and change nothing; Developers are refused protected environments (production) and
admin-only actions (API keys, default environment); Administrators may do everything.
"""

import re

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import AlertIncident
from alerts.services import alert_rule_create, notification_channel_create
from analytics.models import RequestLog
from core.audit import SYSTEM, Actor
from core.permissions import DEVELOPER
from deployments.services import promotion_apply, promotion_create
from environments.models import Client as AccessClient
from environments.services import api_key_create, environment_create
from routing.releases import start_release
from routing.services import route_client_assign, route_create, route_override_update
from secrets_vault.services import secret_create, secret_set_value
from tests.support.console import make_user, seed_world

ROLES = ("anon", "viewer", "developer", "administrator")
R = "/routes/{route}/"
CELL = R + "overrides/{env}/target_base_url/"
NEW_TARGET = {"target_base_url-staging-value": "http://127.0.0.1:9/elsewhere"}
# The demo route's base values as the edit form posts them (seed_world): change one to test that change.
BASE_FORM = {
    "name": "Demo",
    "description": "Echoes what it receives.",
    "target_base_url": "http://127.0.0.1:9/production",
    "enabled": "on",
    "requires_clients": "on",
    "timeout_ms": "30000",
    "allowed_methods": "",
    "inject_headers_json": "{}",
    "inject_body_json": "{}",
    "rate_limit_requests": "100",
    "rate_limit_window_sec": "60",
    "rate_limit_burst": "0",
}

# (method, url, data, {role: status})
TABLE = [
    ("get", "/", None, (302, 200, 200, 200)),
    ("get", "/audit/?actor=system&resource=route", None, (302, 200, 200, 200)),
    ("get", "/theme/environments.css", None, (302, 200, 200, 200)),
    ("post", "/logout/", {}, (302, 302, 302, 302)),
    ("get", "/environments/", None, (302, 200, 200, 200)),
    ("get", "/environments/new/", None, (302, 403, 200, 200)),
    ("post", "/environments/new/", {"name": "qa", "color": "#123456"}, (302, 403, 302, 302)),
    (
        "post",
        "/environments/new/",
        {"name": "qa", "color": "#123456", "is_protected": "on"},
        (302, 403, 403, 302),
    ),
    ("get", "/environments/staging/edit/", None, (302, 403, 200, 200)),
    ("get", "/environments/production/edit/", None, (302, 403, 403, 200)),
    ("post", "/environments/staging/edit/", {"color": "#000000"}, (302, 403, 302, 302)),
    (
        "post",
        "/environments/production/edit/",
        {"color": "#000000", "is_protected": "on"},
        (302, 403, 403, 302),
    ),
    ("post", "/environments/staging/edit/", {"color": "#000000", "is_protected": "on"}, (302, 403, 403, 302)),
    ("get", "/environments/development/delete/", None, (302, 403, 200, 200)),
    ("post", "/environments/development/delete/", {}, (302, 403, 302, 302)),
    ("post", "/environments/production/delete/", {}, (302, 403, 403, 400)),
    ("post", "/environments/staging/make-default/", {}, (302, 403, 403, 302)),
    ("post", "/environments/feature-t/extend/", {"ttl_hours": "24"}, (302, 403, 302, 302)),
    ("post", "/environments/staging/extend/", {"ttl_hours": "24"}, (302, 403, 400, 400)),  # not temporary
    ("get", "/routes/", None, (302, 200, 200, 200)),
    ("get", "/routes/?q=dem&enabled=yes&overrides=with", None, (302, 200, 200, 200)),
    ("get", "/routes/new/", None, (302, 403, 200, 200)),
    (
        "post",
        "/routes/new/",
        {
            "name": "Second",
            "target_base_url": "http://127.0.0.1:9/x",
            "timeout_ms": "1000",
            "rate_limit_requests": "10",
            "rate_limit_window_sec": "60",
            "rate_limit_burst": "0",
            "inject_headers_json": "{}",
            "inject_body_json": "{}",
        },
        (302, 403, 302, 302),
    ),
    ("get", R, None, (302, 200, 200, 200)),
    ("get", R + "edit/", None, (302, 403, 200, 200)),
    ("post", R + "duplicate/", {}, (302, 403, 302, 302)),
    ("post", R + "toggle/", {}, (302, 403, 403, 302)),
    ("get", R + "delete/", None, (302, 403, 200, 200)),
    ("post", R + "delete/", {}, (302, 403, 403, 302)),
    ("get", R + "overrides/", None, (302, 200, 200, 200)),
    ("get", R + "overrides/?left=staging&right=production", None, (302, 200, 200, 200)),
    ("get", CELL.replace("{env}", "staging"), None, (302, 302, 302, 302)),
    ("get", CELL.replace("{env}", "staging") + "?edit=1", None, (302, 403, 200, 200)),
    ("get", CELL.replace("{env}", "production") + "?edit=1", None, (302, 403, 403, 200)),
    ("post", CELL.replace("{env}", "staging"), NEW_TARGET, (302, 403, 302, 302)),
    (
        "post",
        CELL.replace("{env}", "production"),
        {"target_base_url-production-value": "http://127.0.0.1:9/p"},
        (302, 403, 403, 302),
    ),
    ("post", CELL.replace("{env}", "staging") + "reset/", {}, (302, 403, 302, 302)),
    ("get", R + "clients/", None, (302, 200, 200, 200)),
    ("get", R + "secrets/", None, (302, 200, 200, 200)),
    ("get", R + "test/", None, (302, 200, 200, 200)),
    ("post", R + "test/", {"environment": "staging", "method": "GET", "path": "/x"}, (302, 403, 200, 200)),
    ("post", R + "test/", {"environment": "production", "method": "GET", "path": "/x"}, (302, 403, 403, 200)),
    ("get", R + "history/", None, (302, 200, 200, 200)),
    # Route revisions: revision 1 is the demo route before its client assignments and staging
    # override; rolling the whole route back changes production, rolling back staging's view does not.
    ("get", R + "history/1/", None, (302, 200, 200, 200)),
    ("get", R + "history/1/?against=2", None, (302, 200, 200, 200)),
    ("get", R + "history/99/", None, (302, 404, 404, 404)),
    ("get", "/routes/deleted/", None, (302, 200, 200, 200)),
    ("get", R + "history/1/rollback/", None, (302, 403, 200, 200)),
    ("get", R + "history/1/rollback/?scope=environment&environment=staging", None, (302, 403, 200, 200)),
    ("post", R + "history/1/rollback/", {"reason": "r"}, (302, 403, 403, 302)),
    (
        "post",
        R + "history/1/rollback/",
        {"scope": "environment", "environment": "staging"},
        (302, 403, 302, 302),
    ),
    # A route's Environment Clients: assigning in production is an Administrator's change.
    (
        "post",
        R + "clients/",
        {"environment": "{staging_pk}", "client": "{client}", "action": "assign"},
        (302, 403, 302, 302),
    ),
    (
        "post",
        R + "clients/",
        {"environment": "{production_pk}", "client": "{client}", "action": "assign"},
        (302, 403, 403, 302),
    ),
    (
        "post",
        R + "clients/",
        {"environment": "{production_pk}", "client": "{prod_client}", "action": "unassign"},
        (302, 403, 403, 302),
    ),
    # Base edits reach production when the route is live there. A rename too (callers select a
    # route by its name); a description edit reaches nothing.
    ("post", R + "edit/", {**BASE_FORM, "name": "Renamed"}, (302, 403, 403, 302)),
    ("post", R + "edit/", {**BASE_FORM, "description": "Only words."}, (302, 403, 302, 302)),
    ("post", CELL.replace("{env}", "production") + "reset/", {}, (302, 403, 403, 302)),
]

# A Developer's own route: created disabled in production, so changes that keep it disabled there are the
# Developer's to make, and enabling it there (or removing the override that pins it off) is not.
DR = "/routes/{dev_route}/"
DEV_ROUTE = [
    ("post", DR + "toggle/", {}, (302, 403, 302, 302)),
    (
        "post",
        DR + "edit/",
        {**BASE_FORM, "name": "Renamed", "target_base_url": "http://127.0.0.1:9/dev"},
        (302, 403, 302, 302),
    ),
    ("post", DR + "duplicate/", {}, (302, 403, 302, 302)),
    ("post", DR + "overrides/production/enabled/", {"enabled-production-value": "on"}, (302, 403, 403, 302)),
    ("post", DR + "overrides/production/enabled/reset/", {}, (302, 403, 403, 302)),
    ("post", DR + "delete/", {}, (302, 403, 302, 302)),
]

S, SP = "/secrets/{secret}/", "/secrets/{prod_secret}/"  # staging value only / a production value too
SECRETS = [
    ("get", "/secrets/", None, (302, 200, 200, 200)),
    ("post", "/secrets/", {"name": "NEW_SECRET"}, (302, 403, 302, 302)),
    ("post", "/secrets/", {"name": "bad name"}, (302, 400, 400, 400)),
    ("get", S, None, (302, 200, 200, 200)),
    ("get", SP, None, (302, 200, 200, 200)),
    ("post", S + "values/staging/set", {"value": "typed"}, (302, 403, 302, 302)),
    ("post", S + "values/production/set", {"value": "typed"}, (302, 403, 403, 302)),
    ("post", S + "values/staging/delete", {}, (302, 403, 302, 302)),
    ("post", SP + "values/production/delete", {}, (302, 403, 403, 302)),
    ("post", S + "edit", {"description": "changed"}, (302, 403, 302, 302)),
    ("post", SP + "edit", {"description": "changed"}, (302, 403, 403, 302)),
    ("post", S + "rename", {"name": "RENAMED"}, (302, 403, 302, 302)),
    ("post", SP + "rename", {"name": "RENAMED"}, (302, 403, 403, 302)),
    ("post", S + "delete", {}, (302, 403, 302, 302)),
    ("post", SP + "delete", {}, (302, 403, 403, 302)),
]

# CP is assigned in production, C nowhere.
C, CP = "/environments/clients/{client}/", "/environments/clients/{prod_client}/"
CLIENT = {"name": "office", "type": "server", "ip_address": "10.1.0.0/16", "enabled": "on"}
ACCESS = [
    ("get", "/environments/clients/", None, (302, 200, 200, 200)),
    ("post", "/environments/clients/", CLIENT, (302, 403, 302, 302)),
    ("post", "/environments/clients/", {**CLIENT, "ip_address": "10.0.0.1/8"}, (302, 403, 400, 400)),
    ("get", C, None, (302, 200, 200, 200)),
    ("post", C, {**CLIENT, "name": "renamed"}, (302, 403, 302, 302)),
    ("post", CP, {**CLIENT, "name": "renamed"}, (302, 403, 403, 302)),
    ("post", C, {"delete": "1"}, (302, 403, 302, 302)),
    ("post", CP, {"delete": "1"}, (302, 403, 403, 302)),
    ("get", "/environments/api-keys/", None, (302, 200, 200, 200)),
    (
        "post",
        "/environments/api-keys/",
        {"name": "ci", "role": "developer", "may_invoke": "on"},
        (302, 403, 403, 200),
    ),
    ("post", "/environments/api-keys/{api_key}/revoke/", {}, (302, 403, 403, 302)),
]

ANALYTICS = [
    ("get", "/analytics/", None, (302, 200, 200, 200)),
    ("get", "/analytics/compare/?window=24h&route={route}", None, (302, 200, 200, 200)),
    ("get", "/analytics/?partial=figures", None, (302, 200, 200, 200)),
    ("get", "/analytics/health/", None, (302, 200, 200, 200)),
    ("get", "/analytics/health/?partial=cards", None, (302, 200, 200, 200)),
    ("get", "/analytics/requests/", None, (302, 200, 200, 200)),
    (
        "get",
        "/analytics/requests/?environment=staging&status_class=5xx&order=oldest",
        None,
        (302, 200, 200, 200),
    ),
    ("get", "/analytics/requests/export.csv?environment=staging", None, (302, 200, 200, 200)),
    ("get", "/analytics/requests/req-role-table/", None, (302, 200, 200, 200)),
    ("get", "/analytics/requests/no-such-request/", None, (302, 404, 404, 404)),
]

RULE = {
    "name": "Volume",
    "enabled": "on",
    "type": "request_volume",
    "direction": "above",
    "threshold": "1000",
    "percentile": "95",
    "window_minutes": "5",
    "min_requests": "1",
    "severity": "info",
    "cooldown_minutes": "30",
}
CHANNEL = {"name": "Ops mail", "kind": "email", "enabled": "on", "addresses": "ops@example.com"}
AR, ARP = "/alerts/rules/{rule}/", "/alerts/rules/{prod_rule}/"  # staging only / production
AC, ACP = "/alerts/channels/{channel}/", "/alerts/channels/{prod_channel}/"  # unused / used by production
ALERTS = [
    ("get", "/alerts/", None, (302, 200, 200, 200)),
    ("get", "/alerts/?state=open&environment=production", None, (302, 200, 200, 200)),
    ("get", "/alerts/incidents/{incident}/", None, (302, 200, 200, 200)),
    ("get", "/alerts/rules/", None, (302, 200, 200, 200)),
    ("get", "/alerts/rules/?environment=staging", None, (302, 200, 200, 200)),
    ("get", "/alerts/rules/new/", None, (302, 403, 200, 200)),
    ("post", "/alerts/rules/new/", {**RULE, "environments": ["{staging_pk}"]}, (302, 403, 302, 302)),
    ("post", "/alerts/rules/new/", {**RULE, "environments": ["{production_pk}"]}, (302, 403, 403, 302)),
    ("post", "/alerts/rules/new/", RULE, (302, 403, 403, 302)),  # no environment = every one
    ("get", AR, None, (302, 200, 200, 200)),
    ("get", ARP, None, (302, 200, 200, 200)),
    ("post", AR, {**RULE, "environments": ["{staging_pk}"]}, (302, 403, 302, 302)),
    ("post", ARP, {**RULE, "environments": ["{production_pk}"]}, (302, 403, 403, 302)),
    ("post", AR + "delete/", {}, (302, 403, 302, 302)),
    ("post", ARP + "delete/", {}, (302, 403, 403, 302)),
    ("get", "/alerts/channels/", None, (302, 200, 200, 200)),
    ("get", "/alerts/channels/new/", None, (302, 403, 200, 200)),
    ("post", "/alerts/channels/new/", CHANNEL, (302, 403, 302, 302)),
    ("get", AC, None, (302, 200, 200, 200)),
    ("post", AC, {**CHANNEL, "name": "Renamed"}, (302, 403, 302, 302)),
    ("post", ACP, {**CHANNEL, "name": "Renamed"}, (302, 403, 403, 302)),
    ("post", AC + "test/", {}, (302, 403, 302, 302)),
    ("post", AC + "delete/", {}, (302, 403, 302, 302)),
    ("post", ACP + "delete/", {}, (302, 403, 403, 302)),
]

PR = "/deployments/promotions/{promotion}/"  # staging → production, pending, requested by the system
DEPLOYMENTS = [
    ("get", "/deployments/", None, (302, 200, 200, 200)),
    ("get", "/deployments/?source=staging&target=production", None, (302, 200, 200, 200)),
    (
        "post",
        "/deployments/",
        {"source": "staging", "target": "development", "title": "To dev", "also": ["target_base_url"]},
        (302, 403, 302, 302),
    ),
    (
        "post",
        "/deployments/",
        {"source": "staging", "target": "production", "title": "To prod"},
        (302, 403, 403, 302),
    ),
    ("get", "/deployments/approvals/", None, (302, 200, 200, 200)),
    ("get", PR, None, (302, 200, 200, 200)),
    ("post", PR + "checklist/", {"items": ["stakeholder_approval"]}, (302, 403, 403, 302)),
    ("post", PR + "approve/", {}, (302, 403, 403, 302)),
    ("post", PR + "reject/", {}, (302, 403, 403, 302)),
    ("post", PR + "apply/", {}, (302, 403, 403, 409)),  # no approval yet
    ("post", PR + "apply/", {"break_glass_reason": "outage"}, (302, 403, 403, 302)),
    ("post", PR + "cancel/", {}, (302, 403, 403, 302)),
    ("get", "/deployments/{deployment}/", None, (302, 200, 200, 200)),
    ("post", "/deployments/{deployment}/rollback/", {}, (302, 403, 302, 302)),  # development
    ("post", "/deployments/{deployment}/watch/", {"auto_rollback_percent": "5"}, (302, 403, 302, 302)),
    ("post", "/deployments/{deployment}/watch/", {"auto_rollback_percent": "500"}, (302, 403, 400, 400)),
]

# A route's Releases tab: a canary active in staging and one in production (seed_releases), on a route of
# their own, since a running release refuses direct writes to its candidate's fields (the override rows).
RT, RA = "/deployments/routes/{release_route}/releases/", "/deployments/releases/"
START = {
    "strategy": "canary",
    "target_base_url": "http://127.0.0.1:9/v2",
    "weights": "5, 25",
    "hold_seconds": "60",
}
RELEASES = [
    ("get", RT, None, (302, 200, 200, 200)),
    ("get", RT + "?environment=production", None, (302, 200, 200, 200)),
    ("get", RT + "?environment=development", None, (302, 200, 200, 200)),
    ("post", RT, {**START, "environment": "development", "sticky": "api_key"}, (302, 403, 302, 302)),
    (
        "post",
        RT,
        {**START, "environment": "development", "sticky": "none", "weights": "50, 10"},
        (302, 403, 400, 400),
    ),
    ("post", RT, {**START, "environment": "staging", "sticky": "none"}, (302, 403, 409, 409)),
    ("post", RT, {**START, "environment": "production", "sticky": "none"}, (302, 403, 403, 409)),
    ("post", RA + "{staging_release}/promote/", {}, (302, 403, 302, 302)),
    ("post", RA + "{staging_release}/resume/", {}, (302, 403, 409, 409)),
    ("post", RA + "{staging_release}/abort/", {"reason": "enough"}, (302, 403, 302, 302)),
    ("post", RA + "{production_release}/pause/", {"reason": "look"}, (302, 403, 403, 302)),
    ("post", RA + "{production_release}/nonsense/", {}, (302, 404, 404, 404)),
]

TABLE = TABLE + DEV_ROUTE + SECRETS + ACCESS + ANALYTICS + ALERTS + DEPLOYMENTS + RELEASES


def seed_releases(envs: dict) -> dict:
    route = route_create(actor=SYSTEM, name="Canary", slug="canary", target_base_url="http://127.0.0.1:9/")
    candidate = {"target_base_url": "http://127.0.0.1:9/candidate"}
    return {
        "release_route": route.pk,
        **{
            f"{name}_release": start_release(SYSTEM, route, envs[name], candidate=candidate).pk
            for name in ("staging", "production")
        },
    }


def seed_deployments(envs: dict, route) -> dict:
    """A promotion into development applied (its deployment) and one into production pending."""
    route_override_update(actor=SYSTEM, route=route, environment=envs["staging"], timeout_ms=5000)
    to_dev = promotion_create(actor=SYSTEM, source=envs["staging"], target=envs["development"], title="Dev")
    deployment = promotion_apply(actor=SYSTEM, promotion=to_dev)
    promotion = promotion_create(
        actor=SYSTEM, source=envs["staging"], target=envs["production"], title="Prod"
    )
    return {"promotion": promotion.pk, "deployment": deployment.pk}


def seed_more(world: dict) -> dict:
    """Secrets, clients, an API key, a logged request, alert rules, channels and an incident to act on."""
    envs, route = world["environments"], world["route"]
    secret = secret_create(actor=SYSTEM, name="STAGING_TOKEN")
    secret_set_value(actor=SYSTEM, secret=secret, environment=envs["staging"], value="s")
    prod_secret = secret_create(actor=SYSTEM, name="PAYMENT_TOKEN")
    secret_set_value(actor=SYSTEM, secret=prod_secret, environment=envs["production"], value="p")
    client = AccessClient.objects.create(name="laptop", ip_address="192.0.2.7")
    prod_client = AccessClient.objects.create(name="datacenter", ip_address="198.51.100.0/24")
    route_client_assign(actor=SYSTEM, route=route, environment=envs["production"], client=prod_client)
    api_key, _ = api_key_create(actor=SYSTEM, name="deploy", role="developer")
    environment_create(actor=SYSTEM, name="feature-t", clone_from=envs["staging"], ttl_hours=1)
    dev_route = route_create(
        actor=Actor(label="dev", role=DEVELOPER), name="Dev route", target_base_url="http://127.0.0.1:9/dev"
    )
    RequestLog.objects.create(
        request_id="req-role-table",
        timestamp=timezone.now(),
        environment="staging",
        route_id=route.pk,
        route_slug=route.slug,
        method="GET",
        path="/x",
        status=502,
        latency_ms=12.5,
        error_code="upstream_unreachable",
    )
    channel = notification_channel_create(
        actor=SYSTEM, name="Spare", kind="email", config={"addresses": ["spare@example.com"]}
    )
    prod_channel = notification_channel_create(
        actor=SYSTEM, name="Pager", kind="email", config={"addresses": ["pager@example.com"]}
    )
    rule = alert_rule_create(
        actor=SYSTEM, name="Staging errors", type="error_rate", threshold=5.0, environments=[envs["staging"]]
    )
    prod_rule = alert_rule_create(
        actor=SYSTEM,
        name="Production errors",
        type="error_rate",
        threshold=5.0,
        environments=[envs["production"]],
        channels=[prod_channel],
    )
    incident = AlertIncident.objects.create(
        rule=prod_rule,
        environment=envs["production"],
        environment_name="production",
        observed_value=9.0,
        threshold=5.0,
        opened_at=timezone.now(),
    )
    return {
        "route": route.pk,
        "dev_route": dev_route.pk,
        "secret": secret.pk,
        "prod_secret": prod_secret.pk,
        "client": client.pk,
        "prod_client": prod_client.pk,
        "api_key": api_key.pk,
        "channel": channel.pk,
        "prod_channel": prod_channel.pk,
        "rule": rule.pk,
        "prod_rule": prod_rule.pk,
        "incident": incident.pk,
        "staging_pk": envs["staging"].pk,
        "production_pk": envs["production"].pk,
        **seed_deployments(envs, route),
        **seed_releases(envs),
    }


def _fill(value, ids: dict):
    if isinstance(value, str):  # only {name} placeholders: JSON bodies like "{}" stay as they are
        return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), m.group(0))), value)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _cases():
    for method, url, data, statuses in TABLE:
        for role, status in zip(ROLES, statuses, strict=True):
            yield pytest.param(method, url, data, role, status, id=f"{method} {url} {role}")


@pytest.mark.parametrize(("method", "url", "data", "role", "expected"), list(_cases()))
def test_it_answers_each_role_with_the_expected_status(db, settings, method, url, data, role, expected):
    settings.KNOXCALL_GATEWAY_URL = "http://127.0.0.1:9"  # closed port: the Test tab reports an error fast
    ids = seed_more(seed_world("http://127.0.0.1:9"))
    client = Client()
    if role != "anon":
        client.force_login(make_user(role, password=None))
    url, data = _fill(url, ids), _fill(data, ids)
    response = client.get(url) if method == "get" else client.post(url, data)
    assert response.status_code == expected, response.content[:2000]
    if role == "anon" and url != "/logout/":
        assert response["Location"].startswith("/login/?next=")
