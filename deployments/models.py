"""Promotions (a proposed change of one environment to behave like another), their approvals, and the
deployments they become once applied (watched for 30 minutes, rolled back in one click).

A Promotion stores its plan (deployments.plan) and the plan's digest; an Approval is bound to the digest it
approved, so approving one plan never applies another.
"""

import uuid

from django.conf import settings
from django.db import models

from environments.models import Environment


class PromotionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATUSES = (PromotionStatus.PENDING, PromotionStatus.APPROVED)


class Promotion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=PromotionStatus.choices, default=PromotionStatus.PENDING)
    source = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="promotions_out")
    target = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="promotions_in")
    route_ids = models.JSONField(default=list, help_text="The routes the plan covers (chosen at creation).")
    fields = models.JSONField(default=list, help_text="The fields promoted.")
    plan = models.JSONField(default=dict)
    plan_digest = models.CharField(max_length=64)
    required_approvals = models.PositiveSmallIntegerField(default=0)
    # The target's checklist when the promotion was proposed, and who ticked what: {key: {"by", "at"}}.
    checklist = models.JSONField(default=list)
    ticks = models.JSONField(default=dict)
    auto_rollback_error_rate = models.FloatField(
        null=True, blank=True, help_text="Roll back by itself when the error rate (0-1) passes this."
    )
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_key = models.UUIDField(null=True, blank=True)
    requested_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by_label = models.CharField(max_length=150, blank=True)
    break_glass_reason = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="Revisions written per route.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.title} ({self.source} → {self.target})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class Approval(models.Model):
    """One reviewer's decision on one plan digest. `reviewer` names the person behind the credential
    (a user id, or the user who created the API key), so one person counts once."""

    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="approvals")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    plan_digest = models.CharField(max_length=64)
    reviewer = models.CharField(max_length=64)
    reviewer_label = models.CharField(max_length=150)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "reviewer", "plan_digest"], name="one_decision_per_reviewer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_label} {self.decision} {self.promotion_id}"


class DeploymentKind(models.TextChoices):
    PROMOTION = "promotion", "Promotion"
    ROLLBACK = "rollback", "Rollback"


class Deployment(models.Model):
    """A change that reached an environment, watched for WATCH_MINUTES against the hour before it: an
    applied promotion, or a rollback (of a route from its History, or of another deployment).

    `environment` is None when a whole route was rolled back: then the route is watched everywhere."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=DeploymentKind.choices)
    title = models.CharField(max_length=200, blank=True)
    promotion = models.ForeignKey(
        Promotion, null=True, blank=True, on_delete=models.CASCADE, related_name="deployments"
    )
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.CASCADE, related_name="deployments"
    )
    route_ids = models.JSONField(default=list)
    # Per route, the revision this deployment wrote, and the one to roll back to (the one before it).
    revisions = models.JSONField(default=dict, blank=True)
    rollback_to = models.JSONField(default=dict)
    reason = models.TextField(blank=True)
    started_at = models.DateTimeField()
    actor_label = models.CharField(max_length=150)
    auto_rollback_error_rate = models.FloatField(null=True, blank=True)
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    rolled_back_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.kind} into {self.where} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def where(self) -> str:
        return self.environment.name if self.environment_id else "every environment"


class DeploymentNotice(models.Model):
    """One deployment event sent to one notification channel (one attempt, recorded): about a promotion
    (requested, approved, …) or about a deployment (a rollback), or both."""

    promotion = models.ForeignKey(
        Promotion, null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    channel = models.ForeignKey("alerts.NotificationChannel", on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=32)
    delivered = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        return f"{self.event} to {self.channel_id}: {'delivered' if self.delivered else 'not delivered'}"


class ReleaseNotice(models.Model):
    """One release event (rolled back, switched back, paused by the judge) sent to one notification channel,
    for the check that decided it (one attempt, recorded)."""

    release_check = models.ForeignKey(
        "routing.ReleaseCheck", on_delete=models.CASCADE, related_name="notices"
    )
    channel = models.ForeignKey("alerts.NotificationChannel", on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=32)
    delivered = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        return f"{self.event} to {self.channel_id}: {'delivered' if self.delivered else 'not delivered'}"
