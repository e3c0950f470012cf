"""The seed's monitoring policy as demo data: production pages, staging warns, development stays quiet.

Channels point at placeholders and are created disabled, so a fresh `make run` sends nothing anywhere;
an administrator fills in the real webhook URL or routing key and enables them. Idempotent: anything that
already exists (by name) is left as it is.
"""

from core.audit import SYSTEM
from environments.models import Environment

from .models import AlertRule, ChannelKind, NotificationChannel, RuleType, Severity
from .services import alert_rule_create, notification_channel_create

PLACEHOLDER_SLACK_URL = "https://hooks.slack.com/services/REPLACE/WITH/YOURS"
PLACEHOLDER_ROUTING_KEY = "REPLACE-WITH-YOUR-PAGERDUTY-ROUTING-KEY"

DEMO_CHANNELS = [
    ("Slack #alerts-production (unconfigured)", ChannelKind.SLACK, {"webhook_url": PLACEHOLDER_SLACK_URL}),
    ("PagerDuty production (unconfigured)", ChannelKind.PAGERDUTY, {"routing_key": PLACEHOLDER_ROUTING_KEY}),
    ("Slack #alerts-staging (unconfigured)", ChannelKind.SLACK, {"webhook_url": PLACEHOLDER_SLACK_URL}),
]

# (name, environment, type, threshold, severity, channel names)
DEMO_RULES = [
    (
        "Production error rate above 5%",
        "production",
        RuleType.ERROR_RATE,
        5.0,
        Severity.CRITICAL,
        ["Slack #alerts-production (unconfigured)", "PagerDuty production (unconfigured)"],
    ),
    (
        "Production P95 latency above 1 s",
        "production",
        RuleType.LATENCY,
        1000.0,
        Severity.HIGH,
        ["Slack #alerts-production (unconfigured)", "PagerDuty production (unconfigured)"],
    ),
    (
        "Staging error rate above 20%",
        "staging",
        RuleType.ERROR_RATE,
        20.0,
        Severity.WARNING,
        ["Slack #alerts-staging (unconfigured)"],
    ),
    (
        "Staging P95 latency above 5 s",
        "staging",
        RuleType.LATENCY,
        5000.0,
        Severity.WARNING,
        ["Slack #alerts-staging (unconfigured)"],
    ),
]


def load_alert_demo() -> None:
    for name, kind, config in DEMO_CHANNELS:
        if not NotificationChannel.objects.filter(name=name).exists():
            notification_channel_create(actor=SYSTEM, name=name, kind=kind, config=config, enabled=False)
    for name, environment, rule_type, threshold, severity, channels in DEMO_RULES:
        target = Environment.objects.filter(name=environment).first()
        if target is None or AlertRule.objects.filter(name=name).exists():
            continue
        alert_rule_create(
            actor=SYSTEM,
            name=name,
            type=rule_type,
            threshold=threshold,
            severity=severity,
            window_minutes=5,
            min_requests=20,
            cooldown_minutes=30,
            percentile=95,
            environments=[target],
            channels=NotificationChannel.objects.filter(name__in=channels),
        )
