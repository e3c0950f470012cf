"""Environments, the configuration version and the audit trail.

Every configuration write goes through a service that records an AuditEntry and bumps the single
ConfigVersion row in the same transaction; proxy processes watch that row to rebuild their snapshot.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from core.permissions import ROLES

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
    # A feature environment's parent: cloned from it, and its secret values fill the child's gaps.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    expiry_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Regional members: a call naming the group is served by one member (routing/regions.py).
    region_group = models.CharField(
        max_length=63, blank=True, help_text="e.g. production, for production-eu."
    )
    failover_order = models.PositiveSmallIntegerField(default=0, help_text="Lower is tried first.")
    region_down_since = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Set by the fleet health task: calls fail over."
    )
    # Promotion into this environment (deployments): approvals a protected environment asks for, whether
    # direct writes must go through a promotion instead, and the pre-deployment checklist.
    # Database defaults too, so rows written by older migrations' models (which lack these) still insert.
    required_approvals = models.PositiveSmallIntegerField(default=1, db_default=1)
    changes_require_approval = models.BooleanField(
        default=False,
        db_default=False,
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

    @property
    def is_temporary(self) -> bool:
        return self.expires_at is not None

    def clean(self) -> None:
        errors = {}
        if self.is_protected and self.expires_at is not None:
            errors["expires_at"] = "A protected environment cannot be temporary: it never expires."
        elif self.is_default and self.expires_at is not None:
            errors["expires_at"] = "The default environment cannot be temporary."
        if self.parent_id is not None and self.parent_id == self.pk:
            errors["parent"] = "An environment cannot be its own parent."
        if self.region_group and self.region_group == self.name:
            errors["region_group"] = "A region group needs a name of its own, not a member's."
        if errors:
            raise ValidationError(errors)


class ArchivedEnvironment(models.Model):
    """The name of an expired environment, kept while its request logs are retained.

    Calls naming it answer 410 environment_expired, and a new environment cannot take the name, so old logs
    never mix with a new environment's. The analytics purge deletes the row with the last of its logs.
    """

    name = models.CharField(max_length=63, unique=True)
    parent_name = models.CharField(max_length=63, blank=True)
    expired_at = models.DateTimeField()
    archived_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-archived_at"]

    def __str__(self) -> str:
        return f"{self.name} (expired {self.expired_at:%Y-%m-%d %H:%M})"


class RegionNetwork(models.Model):
    """Callers in `cidr` are served by the member of a region group whose `region` matches."""

    region = models.CharField(max_length=63)
    cidr = models.CharField(max_length=64, help_text="An IPv4 or IPv6 network, e.g. 10.20.0.0/16.")
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["region", "cidr"]
        constraints = [models.UniqueConstraint(fields=["region", "cidr"], name="one_region_network")]

    def __str__(self) -> str:
        return f"{self.cidr} → {self.region}"


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
    role = models.CharField(max_length=16, choices=[(role, role.title()) for role in ROLES])
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
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this the key authenticates nowhere (empty: never expires)."
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.display_prefix}…)"

    @property
    def is_live(self) -> bool:
        return self.display_prefix.startswith(API_KEY_LIVE_PREFIX)

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


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
