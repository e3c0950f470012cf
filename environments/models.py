"""Environments, the configuration version and the audit trail.

Every configuration write goes through a service that records an AuditEntry and bumps the single
ConfigVersion row in the same transaction; proxy processes watch that row to rebuild their snapshot.
"""

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

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
        max_length=7, default="#6366f1", validators=[RegexValidator(HEX_COLOR_RE, "Use a colour like #6366f1.")]
    )
    is_default = models.BooleanField(default=False)
    is_protected = models.BooleanField(default=False)
    region = models.CharField(max_length=63, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Temporary (feature-branch) environments.")
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
        return f"{self.actor_label} {self.action} {self.resource_type} {self.resource_name or self.resource_id}"
