"""Secrets and their encrypted per-environment values.

A Secret is only a name and some rules; each environment holds its own value (SecretValue) encrypted with
the master key whose id is stored beside it. Nothing in this app ever stores or shows a plaintext value.
"""

import uuid

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from environments.models import Environment

SECRET_NAME_RE = r"^[A-Za-z0-9_]+$"


class SecretType(models.TextChoices):
    """KnoxCall's secret types: a label for people and tools; every type is stored as a string value."""

    STRING = "string", "String"
    API_KEY = "api_key", "API key"
    OAUTH2_TOKEN = "oauth2_token", "OAuth 2 token"
    BASIC_AUTH = "basic_auth", "Basic auth"
    CUSTOM = "custom", "Custom"


class Secret(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(
        max_length=100,
        unique=True,
        validators=[RegexValidator(SECRET_NAME_RE, "Use letters, digits and underscores only.")],
    )
    description = models.TextField(blank=True)
    secret_type = models.CharField(max_length=20, choices=SecretType.choices, default=SecretType.STRING)
    expires_at = models.DateTimeField(null=True, blank=True)
    strict_expiry = models.BooleanField(
        default=False, help_text="When expired, refuse calls that use it instead of only warning."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class SecretValue(models.Model):
    """One environment's value of a secret: ciphertext only, plus who set it and when."""

    secret = models.ForeignKey(Secret, on_delete=models.CASCADE, related_name="values")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="secret_values")
    ciphertext = models.BinaryField()
    key_id = models.CharField(max_length=32, help_text="Which master key encrypted this value.")
    value_version = models.PositiveIntegerField(default=1, help_text="Incremented on every set.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["secret", "environment"], name="one_value_per_environment")
        ]

    def __str__(self) -> str:
        return f"{self.secret} @ {self.environment} v{self.value_version}"
