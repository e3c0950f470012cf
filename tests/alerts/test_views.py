"""The alerts pages: failures visible, previews, test notifications, filters and who may change what."""

import pytest
from django.contrib.auth.models import Group, User

from alerts.evaluation import evaluate_alerts
from alerts.models import AlertIncident, AlertRule, ChannelKind, NotificationAttempt, RuleType
from alerts.services import alert_rule_create, notification_channel_create
from core.audit import SYSTEM
from core.permissions import ROLE_GROUPS
from tests.alerts.conftest import add_traffic

pytestmark = pytest.mark.usefixtures("eager_tasks")


def login(client, role: str | None) -> User:
    user = User.objects.create_user(f"user-{role or 'admin'}", password="x", is_superuser=role is None)
    if role:
        user.groups.add(Group.objects.get_or_create(name=ROLE_GROUPS[role])[0])
    client.force_login(user)
    return user


@pytest.fixture
def slack_channel(environments, slack):
    return notification_channel_create(
        actor=SYSTEM, name="Slack", kind=ChannelKind.SLACK, config={"webhook_url": f"{slack.url}/hook"}
    )


@pytest.fixture
def production_rule(environments, slack_channel):
    return alert_rule_create(
        actor=SYSTEM,
        name="Production error rate",
        type=RuleType.ERROR_RATE,
        threshold=5.0,
        environments=[environments["production"]],
        channels=[slack_channel],
        min_requests=10,
    )


def test_it_shows_a_400_as_failed_and_not_retried_on_the_incident_page(client, production_rule, slack):
    slack.reset(default_status=400)
    add_traffic("production", total=100, errors_5xx=10)
    evaluate_alerts()
    incident = AlertIncident.objects.get()
    login(client, None)

    page = client.get(f"/alerts/incidents/{incident.pk}/").content.decode()

    assert len(slack.received) == 1
    assert '<tr class="failed">' in page and "<td>400</td>" in page and ">failed<" in page
    open_in_production = client.get("/alerts/?state=open&environment=production").content.decode()
    assert "Production error rate" in open_in_production
    assert "Production error rate" not in client.get("/alerts/?environment=staging").content.decode()


def test_it_previews_whether_a_rule_would_fire_now(client, production_rule):
    add_traffic("production", total=200, errors_5xx=30)
    login(client, None)

    page = client.get(f"/alerts/rules/{production_rule.pk}/").content.decode()

    assert "Would it fire now?" in page
    row = page.split('data-environment="production"')[1].split("</tr>")[0]
    assert '<td class="num">15.0</td>' in row and '<td class="num">200</td>' in row and "would fire" in row
    assert not AlertIncident.objects.exists()  # a preview writes nothing


def test_it_sends_a_test_notification_from_the_channel_page(client, slack_channel, slack):
    login(client, None)

    response = client.post(f"/alerts/channels/{slack_channel.pk}/test/", follow=True)

    assert "Test notification delivered" in response.content.decode()
    assert len(slack.received) == 1 and "[TEST]" in slack.received[0].json["text"]
    assert NotificationAttempt.objects.get().event == "test"


def test_it_filters_rules_and_channels_by_environment(client, production_rule, environments):
    alert_rule_create(actor=SYSTEM, name="Everywhere volume", type=RuleType.REQUEST_VOLUME, threshold=1e6)
    login(client, None)

    staging = client.get("/alerts/rules/?environment=staging").content.decode()
    production = client.get("/alerts/rules/?environment=production").content.decode()

    assert "Everywhere volume" in staging and "Production error rate" not in staging
    assert "Everywhere volume" in production and "Production error rate" in production
    channels = client.get("/alerts/channels/?environment=staging").content.decode()
    assert "Slack" not in channels.split("<tbody>")[1]


def test_it_lets_a_developer_add_a_development_rule_but_not_touch_production(
    client, production_rule, environments
):
    login(client, "developer")
    form = {
        "name": "Dev volume",
        "enabled": "on",
        "environments": [environments["development"].pk],
        "type": "request_volume",
        "direction": "above",
        "threshold": "1000",
        "percentile": "95",
        "window_minutes": "5",
        "min_requests": "1",
        "severity": "info",
        "cooldown_minutes": "30",
    }

    created = client.post("/alerts/rules/new/", form)
    refused = client.post(
        f"/alerts/rules/{production_rule.pk}/", {**form, "name": "Renamed", "environments": []}
    )

    assert created.status_code == 302 and AlertRule.objects.filter(name="Dev volume").exists()
    assert refused.status_code == 403 and "production is protected" in refused.content.decode()
    assert AlertRule.objects.filter(name="Production error rate").exists()


def test_it_refuses_a_viewer_any_change(client, environments):
    login(client, "viewer")

    response = client.post(
        "/alerts/channels/new/",
        {
            "name": "S",
            "kind": "slack",
            "enabled": "on",
            "webhook_url": "https://hooks.slack.com/services/a/b/c",
        },
    )

    assert response.status_code == 403 and "Viewers can look" in response.content.decode()
    assert client.get("/alerts/rules/").status_code == 200


def test_it_requires_login(client):
    assert client.get("/alerts/rules/").status_code == 302


def test_it_shows_a_service_refusal_of_one_field_next_to_that_field(client, environments):
    login(client, None)
    form = {
        "name": "Errors below",
        "enabled": "on",
        "environments": [environments["development"].pk],
        "type": "error_rate",
        "direction": "below",
        "threshold": "5",
        "percentile": "95",
        "window_minutes": "5",
        "min_requests": "1",
        "severity": "info",
        "cooldown_minutes": "30",
    }

    response = client.post("/alerts/rules/new/", form)

    page = response.content.decode()
    assert response.status_code == 400 and not AlertRule.objects.filter(name="Errors below").exists()
    field = page[page.index('name="direction"') :]
    assert "Only request volume rules can alert below a threshold." in field[: field.index("</div>")]
