"""Alert rules, the channels they notify, the incidents they open and every delivery attempt.

An incident is the unit of notification: it opens when a rule's condition holds in an environment, is
re-notified after the rule's cooldown while it keeps holding, and resolves when it clears. At most one
incident per (rule, environment) is open at a time; the route is a property of the rule, so that pair is
the rule's whole scope in one environment (a partial unique constraint enforces it, also against two
evaluations running at once).
"""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from environments.models import Environment
from routing.models import Route


class ChannelKind(models.TextChoices):
    SLACK = "slack", "Slack"
    PAGERDUTY = "pagerduty", "PagerDuty"
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class RuleType(models.TextChoices):
    ERROR_RATE = "error_rate", "Error rate (%)"
    REQUEST_FAILURES = "request_failures", "Request failures (count of chosen status codes)"
    LATENCY = "latency", "High latency (ms)"
    RATE_LIMIT_EXCEEDED = "rate_limit_exceeded", "Rate limit exceeded (count)"
    UNAUTHORIZED_CLIENT = "unauthorized_client", "Unauthorized client (count)"
    REQUEST_VOLUME = "request_volume", "Request volume (count)"


class Direction(models.TextChoices):
    ABOVE = "above", "above"
    BELOW = "below", "below"


class Percentile(models.IntegerChoices):
    P50 = 50, "P50"
    P95 = 95, "P95"
    P99 = 99, "P99"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class NotificationEvent(models.TextChoices):
    TRIGGER = "trigger", "Trigger"
    RENOTIFY = "renotify", "Re-notify"
    RESOLVE = "resolve", "Resolve"
    TEST = "test", "Test"
    EXPIRY = "expiry", "Environment expiry"


class NotificationChannel(models.Model):
    """Where notifications go. `config` holds the kind's settings, some of them secret:

    slack: {"webhook_url"}; pagerduty: {"routing_key"}; email: {"addresses": [...]};
    webhook: {"url", "secret"}. A disabled channel is never sent to (the demo's placeholders are).
    """

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    enabled = models.BooleanField(default=True)
    config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class AlertRule(models.Model):
    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    environments = models.ManyToManyField(
        Environment, blank=True, related_name="alert_rules", help_text="None selected: every environment."
    )
    route = models.ForeignKey(
        Route,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_rules",
        help_text="Empty: all routes of the environment together.",
    )
    type = models.CharField(max_length=32, choices=RuleType.choices)
    direction = models.CharField(
        max_length=8,
        choices=Direction.choices,
        default=Direction.ABOVE,
        help_text="Only request volume can alert below its threshold.",
    )
    threshold = models.FloatField(help_text="Percent for error rate, milliseconds for latency, else a count.")
    percentile = models.PositiveSmallIntegerField(choices=Percentile.choices, default=Percentile.P95)
    status_codes = models.JSONField(default=list, blank=True, help_text="Request failures: codes counted.")
    window_minutes = models.PositiveIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(1440)]
    )
    min_requests = models.PositiveIntegerField(default=1, help_text="Fewer calls in the window: no alert.")
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    cooldown_minutes = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1)], help_text="Re-notify a firing alert after this."
    )
    channels = models.ManyToManyField(NotificationChannel, blank=True, related_name="rules")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AlertIncident(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="incidents")
    # An incident outlives its environment (history is kept); the name stays readable and filterable.
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.SET_NULL, related_name="alert_incidents"
    )
    environment_name = models.CharField(max_length=63, db_index=True, default="")
    route = models.ForeignKey(Route, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    observed_value = models.FloatField()
    threshold = models.FloatField()
    opened_at = models.DateTimeField(db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    # Incremented on every trigger or re-notification: (incident, channel, event, sequence) names one
    # delivery, which is what the delivery task's idempotency guard checks.
    notify_sequence = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "environment"],
                condition=models.Q(resolved_at__isnull=True),
                name="one_open_incident_per_rule_environment",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} in {self.environment_name}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def dedup_key(self) -> str:
        """Stable for the incident's life: PagerDuty folds triggers and the resolve into one incident."""
        return f"knoxcall-{self.pk}"


class NotificationAttempt(models.Model):
    incident = models.ForeignKey(
        AlertIncident,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attempts",
        help_text="Empty for test notifications.",
    )
    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="attempts")
    event = models.CharField(max_length=16, choices=NotificationEvent.choices)
    sequence = models.PositiveIntegerField(default=0)
    attempt = models.PositiveSmallIntegerField(default=1)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempted_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered = models.BooleanField(default=False)
    final = models.BooleanField(default=False, help_text="No retry follows this attempt.")

    class Meta:
        ordering = ["attempted_at", "id"]
        indexes = [models.Index(fields=["incident", "channel", "event", "sequence"], name="attempt_delivery")]

    def __str__(self) -> str:
        outcome = "delivered" if self.delivered else (self.error or f"HTTP {self.status_code}")
        return f"{self.event} #{self.attempt} to {self.channel}: {outcome}"
