"""Environments, the configuration version and the audit trail.

Every configuration write goes through a service that records an AuditEntry and bumps the single
ConfigVersion row in the same transaction; proxy processes watch that row to rebuild their snapshot.
"""

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from core.permissions import ROLES

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
