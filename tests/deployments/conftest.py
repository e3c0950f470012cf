"""Fixtures of the deployment tests: two Administrators (Alice requests, Bob approves), each with an API key,
a route live in every environment whose staging has changes to promote, and a Slack-like receiver on the
alert rules of an environment, where that environment's deployment and release events go."""

from collections.abc import Iterator

import pytest

from alerts.services import alert_rule_create, notification_channel_create
from core.audit import SYSTEM, Actor
from environments.models import Environment
from environments.services import api_key_create, environment_update
from knoxcall.celery import app as celery_app
from routing.models import Route
from routing.services import route_create, route_override_update
from tests.api.conftest import Api
from tests.support.console import make_user
from tests.support.receivers import NotificationReceiver


@pytest.fixture
def people(environments) -> dict:
    """alice and bob (Administrators), each with an administrator API key they created."""
    found = {}
    for name in ("alice", "bob"):
        user = make_user("administrator", username=name, password=None)
        _, raw = api_key_create(actor=Actor.for_user(user), name=f"{name} key", role="administrator")
        found[name] = {"user": user, "api": Api(raw)}
    # The evidence items need traffic and alert rules; these tests tick a short checklist instead.
    environment_update(
        actor=SYSTEM,
        environment=environments["production"],
        checklist=[{"key": "stakeholder_approval", "label": "Stakeholder approval received"}],
    )
    return found


@pytest.fixture
def orders(environments) -> Route:
    """A route whose staging runs a new timeout and header template; production and development inherit."""
    route = route_create(
        actor=SYSTEM,
        name="Orders",
        slug="orders",
        target_base_url="http://127.0.0.1:9/prod",
        timeout_ms=30000,
        inject_headers_json={"X-Version": "1"},
    )
    route_override_update(
        actor=SYSTEM,
        route=route,
        environment=environments["staging"],
        target_base_url="http://127.0.0.1:9/staging",
        timeout_ms=5000,
        inject_headers_json={"X-Version": "2"},
        rate_limit_enabled=True,
    )
    return Route.objects.get(pk=route.pk)


@pytest.fixture(scope="session")
def slack_server() -> NotificationReceiver:
    """Started once; `slack` empties it for each test."""
    return NotificationReceiver(kind="slack").start()


@pytest.fixture
def slack(slack_server, settings) -> Iterator[NotificationReceiver]:
    """The receiver, empty and allowed as a notification target, with notification tasks run at once."""
    slack_server.reset()
    settings.ALERTS_ALLOWED_HOSTS = ["127.0.0.1"]
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield slack_server
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def staging_slack(slack, environments) -> NotificationReceiver:
    """`slack` on staging's alert rule: where staging's events go."""
    return slack_watching(slack, environments["staging"])


@pytest.fixture
def production_slack(slack, environments) -> NotificationReceiver:
    """`slack` on production's alert rule: where production's events go."""
    return slack_watching(slack, environments["production"])


def slack_watching(receiver: NotificationReceiver, environment: Environment) -> NotificationReceiver:
    """A Slack channel to `receiver` on an error-rate rule watching `environment`."""
    channel = notification_channel_create(
        actor=SYSTEM,
        name=f"{environment.name} events",
        kind="slack",
        config={"webhook_url": f"{receiver.url}/hook"},
    )
    alert_rule_create(
        actor=SYSTEM,
        name=f"{environment.name} errors",
        type="error_rate",
        threshold=5.0,
        environments=[environment],
        channels=[channel],
    )
    return receiver
