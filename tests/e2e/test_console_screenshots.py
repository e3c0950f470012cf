"""Every main console page in a real browser, with realistic data, saved to screenshots/ to be looked at.

Each page must render in the console's layout (sidebar with its section marked, a page heading) without a
console error; the PNGs are the evidence that it looks like a product.
"""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import AlertIncident, NotificationAttempt
from alerts.services import alert_rule_create, notification_channel_create
from analytics.models import RequestLog
from core.audit import SYSTEM
from environments.models import Client as AccessClient
from environments.services import environment_create
from routing.services import route_client_assign, route_override_update
from secrets_vault.services import secret_create, secret_set_value
from tests.alerts.conftest import add_traffic
from tests.e2e.conftest import SCREENSHOTS, logged_in_context

pytestmark = pytest.mark.e2e
WIDTH = 1400  # the width the console is reviewed at

# (environment, requests per minute, 5xx per minute, P95-ish latency) for the last hour of rollups.
TRAFFIC = {
    "production": (40, 1, 85.0),
    "staging": (18, 2, 140.0),
    "development": (9, 1, 45.0),
    "qa": (6, 0, 60.0),
    "eu-west": (14, 1, 110.0),
}
# Three more environments, so the Overrides matrix has six columns: qa and feature-checkout keep the model's
# default colour and eu-west was given production's red, so only distinct default colours tell them apart.
EXTRA_ENVIRONMENTS = (
    ("qa", "QA", {}, {"timeout_ms": 5000, "allowed_methods": ["GET", "POST"], "rate_limit_enabled": True}),
    (
        "eu-west",
        "EU West",
        {"color": "#dc2626", "region": "eu-west-1"},
        {
            "target_base_url": "https://eu-west-1.payments-gateway.example.com/api/v2/production-mirror",
            "allowed_methods": ["GET", "HEAD", "OPTIONS"],
        },
    ),
    (
        "feature-checkout",
        "Feature: checkout",
        {"description": "Preview of the new checkout flow."},
        {"target_base_url": "https://feature-checkout-4821.preview.example.dev/v1", "timeout_ms": 12000},
    ),
)
LOG = [
    ("production", "GET", "/v1/charges", 200, 42.0),
    ("staging", "POST", "/v1/charges", 502, 1210.0),
    ("development", "GET", "/v1/customers/42", 200, 18.5),
    ("production", "GET", "/v1/balance", 429, 0.4),
    ("staging", "GET", "/v1/customers", 401, 2.4),
    ("production", "POST", "/v1/refunds", 201, 97.3),
]


def _seed_environments(world: dict) -> None:
    envs, route = world["environments"], world["route"]
    for name, label, options, override in EXTRA_ENVIRONMENTS:
        envs[name] = environment_create(actor=SYSTEM, name=name, display_name=label, **options)
        route_override_update(actor=SYSTEM, route=route, environment=envs[name], **override)


def _seed_traffic(now) -> None:
    for minute in range(60):
        for env, (total, errors, latency) in TRAFFIC.items():
            wave = (minute * 7 + len(env)) % 11
            # Some minutes also carry refusals and gateway errors, so every status-class band shows.
            limited, refused, gateway = wave // 5, (wave % 4 == 1) * 2, (minute % 9 == 4)
            bucket = add_traffic(
                env,
                total=total + wave,
                errors_5xx=errors * (wave % 3),
                latency_ms=latency + wave * 4,
                minute=now - timedelta(minutes=minute),
                rate_limited=limited,
                unauthorized=refused,
                gateway_errors=gateway,
            )
            bucket.status_4xx += limited + refused + gateway  # the rollup counts them in their class too
            bucket.status_3xx, bucket.status_2xx = (minute % 5 == 0), bucket.status_2xx - (minute % 5 == 0)
            bucket.save()


def _seed(world: dict) -> dict:
    envs, route = world["environments"], world["route"]
    now = timezone.now()
    _seed_environments(world)
    _seed_traffic(now)
    for i in range(100):  # a full page of the request log
        env, method, path, status, latency = LOG[i % len(LOG)]
        RequestLog.objects.create(
            request_id=f"{i:04x}9f3c2a71b84e5d6c7a8b9c0d1e2f",
            timestamp=now - timedelta(seconds=37 * i),
            environment=env,
            route_id=route.pk,
            route_slug=route.slug,
            method=method,
            path=path,
            status=status,
            latency_ms=latency,
            client_ip="203.0.113.10",
            upstream_host="api.example.com",
            error_code="upstream_error" if status == 502 else "",
            secrets_used=["STRIPE_KEY"] * (i % 2),
        )
    for name, values in (
        ("STRIPE_KEY", ("production", "staging")),
        ("WEBHOOK_SIGNING", ("staging",)),
        ("SENDGRID_TOKEN", ("production", "staging", "development")),
    ):
        description = f"{name.split('_')[0].title()} credential"
        secret = secret_create(actor=SYSTEM, name=name, description=description)
        for env in values:
            secret_set_value(actor=SYSTEM, secret=secret, environment=envs[env], value="x" * 24)
    office = AccessClient.objects.create(name="office", ip_address="203.0.113.0/24", description="HQ egress")
    AccessClient.objects.create(name="ci-runner", ip_address="198.51.100.7", type=AccessClient.SERVER)
    route_client_assign(actor=SYSTEM, route=route, environment=envs["production"], client=office)
    channel = notification_channel_create(
        actor=SYSTEM, name="On-call email", kind="email", config={"addresses": ["oncall@example.com"]}
    )
    rule = alert_rule_create(
        actor=SYSTEM,
        name="Production error rate",
        type="error_rate",
        threshold=2.0,
        environments=[envs["production"]],
        channels=[channel],
        severity="critical",
    )
    alert_rule_create(
        actor=SYSTEM, name="Slow staging", type="latency", threshold=500.0, environments=[envs["staging"]]
    )
    incident = AlertIncident.objects.create(
        rule=rule,
        environment=envs["production"],
        environment_name="production",
        observed_value=4.2,
        threshold=2.0,
        opened_at=now - timedelta(minutes=12),
    )
    NotificationAttempt.objects.create(
        incident=incident, channel=channel, event="trigger", delivered=True, final=True
    )
    return {
        "secret": secret.pk,
        "rule": rule.pk,
        "incident": incident.pk,
        "request": "00019f3c2a71b84e5d6c7a8b9c0d1e2f",
    }


def test_it_saves_a_screenshot_of_every_main_page(console, browser, settings):
    from playwright.sync_api import expect

    ids = _seed(console)
    url, route = console["url"], console["route"].pk
    pages = [
        ("20-home", "/", "Home"),
        ("21-environments", "/environments/", "Environments"),
        ("22-routes", "/routes/", "Routes"),
        ("23-route-overrides", f"/routes/{route}/overrides/", "Routes"),
        ("24-route-clients", f"/routes/{route}/clients/", "Routes"),
        ("25-secrets", "/secrets/", "Secrets"),
        ("26-secret-detail", f"/secrets/{ids['secret']}/", "Secrets"),
        ("27-clients", "/environments/clients/", "Clients"),
        ("28-api-keys", "/environments/api-keys/", "API keys"),
        ("29-analytics-compare", "/analytics/", "Analytics"),
        ("30-analytics-health", "/analytics/health/", "Analytics"),
        ("31-request-log", "/analytics/requests/", "Analytics"),
        ("32-request-detail", f"/analytics/requests/{ids['request']}/", "Analytics"),
        ("33-alert-rules", "/alerts/rules/", "Alerts"),
        ("34-alert-rule", f"/alerts/rules/{ids['rule']}/", "Alerts"),
        ("35-alert-channels", "/alerts/channels/", "Alerts"),
        ("36-alert-incidents", "/alerts/", "Alerts"),
        ("37-alert-incident", f"/alerts/incidents/{ids['incident']}/", "Alerts"),
        ("38-audit-log", "/audit/", "Audit log"),
    ]
    context = logged_in_context(browser, url, console["users"]["administrator"], width=WIDTH)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    for name, path, section in pages:
        response = page.goto(f"{url}{path}")
        assert response.status == 200, (path, response.status)
        expect(page.locator(".sidebar a[aria-current=page]")).to_have_text(section)
        expect(page.locator("main h1").first).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    # The request log at 1,400 px: a hundred rows in well under 5,000 px, and the request id (the last
    # column, 32 characters) shown whole without scrolling the table.
    page.goto(f"{url}/analytics/requests/")
    assert page.locator("table.requests tbody tr").count() == 100
    assert page.evaluate("document.documentElement.scrollHeight") < 4000
    assert page.locator(".table-scroll").evaluate("el => el.scrollWidth <= el.clientWidth")
    request_id = page.locator("table.requests td.col-request-id a").first
    assert len(request_id.inner_text()) == 32
    card_right = page.locator(".table-scroll").bounding_box()
    link = request_id.bounding_box()
    assert link["x"] + link["width"] <= card_right["x"] + card_right["width"]
    assert "0.4 ms" in page.locator("table.requests").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "31b-request-log-first-screen.png"))

    page.goto(f"{url}/environments/api-keys/")
    page.get_by_label("Name").fill("ci-deploy")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-api-key")).to_contain_text("tk_live_")
    page.screenshot(path=str(SCREENSHOTS / "39-api-key-created.png"), full_page=True)
    context.close()
    assert not [e for e in errors if "WebSocket" not in e], errors


def test_it_keeps_the_field_column_in_view_while_six_environments_scroll(console, browser):
    _seed_environments(console)
    context = logged_in_context(browser, console["url"], console["users"]["administrator"], width=WIDTH)
    page = context.new_page()
    page.goto(f"{console['url']}/routes/{console['route'].pk}/overrides/")
    matrix = page.locator("#override-matrix")
    assert matrix.locator("thead th.env-col").count() == 6
    # The page itself never scrolls sideways: only the matrix card does.
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    wrap = page.locator(".matrix-wrap")
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")
    field_cell = matrix.locator("tbody th.field-col").first
    before = field_cell.bounding_box()["x"]
    wrap.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    assert field_cell.bounding_box()["x"] == before
    last_env = matrix.locator("thead th.env-col").last.bounding_box()
    assert last_env["x"] + last_env["width"] <= WIDTH
    page.screenshot(path=str(SCREENSHOTS / "23b-route-overrides-scrolled.png"), full_page=True)
    # A URL wraps between its parts, never inside a word, and shows whole (no ellipsis).
    for cell in ("#cell-target_base_url-eu-west", ".cell-base"):
        url_cell = page.locator(f"{cell} .cell-value").first
        lines = url_cell.evaluate(_RENDERED_LINES)
        assert len(lines) > 1 and "".join(lines) == url_cell.get_attribute("title"), lines
        assert not any(a[-1].isalnum() and b[0].isalnum() for a, b in itertools.pairwise(lines)), lines
        assert url_cell.evaluate("el => el.scrollWidth <= el.clientWidth")
    expect_chips = page.locator("#cell-allowed_methods-qa .chip-method")
    assert expect_chips.all_inner_texts() == ["GET", "POST"]
    assert page.locator("#cell-allowed_methods-development .chip-any").inner_text() == "any"
    context.close()


def test_it_shows_the_values_of_a_time_step_on_hover(console, browser):
    _seed_traffic(timezone.now())
    context = logged_in_context(browser, console["url"], console["users"]["administrator"], width=WIDTH)
    page = context.new_page()
    page.goto(f"{console['url']}/analytics/")
    step = page.locator(".chart").first.locator("g.step").nth(10)
    step.hover()
    tip = page.locator(".chart-tip")
    assert tip.is_visible()
    assert "UTC" in tip.inner_text() and "Production:" in tip.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "29b-analytics-compare-hover.png"))
    page.goto(f"{console['url']}/analytics/health/")
    assert page.locator(".status-chart").count() == 3
    page.locator(".status-chart").first.locator("g.step").nth(20).hover()
    assert "calls" in page.locator(".chart-tip").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "30b-analytics-health-hover.png"))
    context.close()


# The text of each line box of an element, as the browser laid it out.
_RENDERED_LINES = """el => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT), range = document.createRange();
  const lines = [];
  let top = null;
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    for (let i = 0; i < text.length; i++) {
      range.setStart(text, i); range.setEnd(text, i + 1);
      const y = Math.round(range.getClientRects()[0].top);
      if (y !== top) { lines.push(""); top = y; }
      lines[lines.length - 1] += text.data[i];
    }
  }
  return lines;
}"""
