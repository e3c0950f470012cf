"""Environments, the configuration version and the audit trail.

Every configuration write goes through a service that records an AuditEntry and bumps the single
ConfigVersion row in the same transaction; proxy processes watch that row to rebuild their snapshot.
"""

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from .permissions import ROLES

# The seed's pre-deployment checklist ("Environment Deployment Workflows"): what a promotion into an
# environment asks for unless the environment's own list says otherwise. Items with `evidence` are checked
# from data (deployments.checklist); the rest are ticked by a person, who is recorded.
DEFAULT_CHECKLIST = [
    {"key": "tests_passing", "label": "All tests passing in staging", "evidence": "source_healthy"},
    {"key": "stakeholder_approval", "label": "Stakeholder approval received"},
    {"key": "rollback_plan", "label": "Rollback plan documented", "evidence": "rollback_ready"},
    {"key": "team_notified", "label": "Team notified in Slack", "evidence": "team_notified"},
    {"key": "monitoring_ready", "label": "Monitoring dashboard ready", "evidence": "monitoring_ready"},
    {"key": "on_call", "label": "On-call engineer identified"},
    {"key": "migrations_tested", "label": "Database migrations tested (if any)"},
    {"key": "feature_flags", "label": "Feature flags configured (if applicable)"},
]


def default_checklist() -> list[dict]:
    return [dict(item) for item in DEFAULT_CHECKLIST]

ENVIRONMENT_NAME_RE = r"^[a-z0-9_-]+$"
HEX_COLOR_RE = r"^#[0-9a-fA-F]{6}$"


class Environment(models.Model):
    name = models.CharField(
        max_length=63,
        unique=True,
        validators=[RegexValidator(ENVIRONMENT_NAME_RE, "Use lowercase letters, digits, '-' and '_'.")],
    )
    display_name = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    color = models.CharField(
        max_length=7,
        default="#6366f1",
        validators=[RegexValidator(HEX_COLOR_RE, "Use a colour like #6366f1.")],
    )
    is_default = models.BooleanField(default=False)
    is_protected = models.BooleanField(default=False)
    region = models.CharField(max_length=63, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Temporary (feature-branch) environments."
    )
    # Promotion into this environment (deployments): approvals a protected environment asks for, whether
    # direct writes must go through a promotion instead, and the pre-deployment checklist.
    # Database defaults too, so rows written by older migrations' models (which lack these) still insert.
    required_approvals = models.PositiveSmallIntegerField(default=1, db_default=1)
    changes_require_approval = models.BooleanField(
        default=False, db_default=False,
        help_text="Direct route changes are refused: changes arrive by promotion.",
    )
    checklist = models.JSONField(default=default_checklist, db_default=DEFAULT_CHECKLIST, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_environment"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return self.display_name or self.name


class ConfigVersion(models.Model):
    """A single row whose number changes with every configuration write."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"configuration version {self.version}"


class AuditEntry(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    timestamp = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text="Who acted: a username, an API key or 'system'.")
    action = models.CharField(max_length=32, db_index=True)
    resource_type = models.CharField(max_length=32, db_index=True)
    resource_id = models.CharField(max_length=64, db_index=True)
    resource_name = models.CharField(max_length=200, blank=True)
    environment = models.CharField(max_length=63, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-timestamp"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        resource = self.resource_name or self.resource_id
        return f"{self.actor_label} {self.action} {self.resource_type} {resource}"


API_KEY_LIVE_PREFIX = "tk_live_"
API_KEY_TEST_PREFIX = "tk_test_"


class ApiKey(models.Model):
    """A credential for the management API (by role) and the proxy (when may_invoke).

    Only the SHA-256 of the full key is stored: the key is shown once, when created. `display_prefix`
    (the type prefix plus a few characters) lets a person tell keys apart without revealing them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    display_prefix = models.CharField(max_length=20)
    key_hash = models.CharField(max_length=64, unique=True, help_text="sha256 hex of the full key.")
    role = models.CharField(
        max_length=16, choices=[(role, role.title()) for role in ROLES])
    may_invoke = models.BooleanField(default=True, help_text="May call routes through the proxy.")
    active = models.BooleanField(default=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rate_limit_requests = models.PositiveIntegerField(null=True, blank=True)
    rate_limit_window_sec = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.display_prefix}…)"

    @property
    def is_live(self) -> bool:
        return self.display_prefix.startswith(API_KEY_LIVE_PREFIX)


class Client(models.Model):
    """A known caller: one IP address or a CIDR network (IPv4 or IPv6), assigned per (route, environment)."""

    SERVER = "server"
    USER = "user"
    TYPES = [(SERVER, "Server"), (USER, "User")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=8, choices=TYPES, default=SERVER)
    ip_address = models.CharField(
        max_length=64,
        help_text="One IP address or a CIDR network, IPv4 or IPv6 (e.g. 10.0.0.0/8, 2001:db8::/32).",
    )
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.ip_address})"
