"""The audit trail and the configuration version: the two tables every app writes through core.audit."""

import uuid

from django.conf import settings
from django.db import models


class ConfigVersion(models.Model):
    """A single row whose number changes with every configuration write."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "environments_configversion"  # created by the environments app; moved here as is

    def __str__(self) -> str:
        return f"configuration version {self.version}"


class ConfigChange(models.Model):
    """What one configuration version changed, so a proxy process a few versions behind rebuilds only that.

    One row per version, written with the bump in the same transaction (core.audit.bump_config_version).
    `scopes` are "kind:key" strings: "route:<id>", "environment:<id>", "secret:<id>", "api_key:<id>",
    "client:<id>", "region_network:<id>", or "all" (rebuild everything). Old rows are pruned: a process
    further behind than the log reaches rebuilds its whole table, as it does at start-up.
    """

    version = models.BigIntegerField(primary_key=True)
    scopes = models.JSONField(default=list)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version"]

    def __str__(self) -> str:
        return f"configuration version {self.version}: {', '.join(self.scopes)}"


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
        db_table = "environments_auditentry"  # the append-only trigger (PostgreSQL) names this table
        ordering = ["-timestamp"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        resource = self.resource_name or self.resource_id
        return f"{self.actor_label} {self.action} {self.resource_type} {resource}"


class IdempotencyRecord(models.Model):
    """One write's answer, per credential and key; the body hash tells a retry from a different request."""

    credential = models.CharField(max_length=64, help_text="The API key id (or user id) that sent the write.")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="sha256 of method, path and body.")
    status = models.PositiveSmallIntegerField()
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "api_idempotencyrecord"  # created by the api app; moved here as is
        constraints = [models.UniqueConstraint(fields=["credential", "key"], name="one_answer_per_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
