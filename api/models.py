"""Stored answers of writes sent with `X-Idempotency-Key`, so a retried write is answered, not repeated."""

from django.db import models


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
        constraints = [models.UniqueConstraint(fields=["credential", "key"], name="one_answer_per_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
