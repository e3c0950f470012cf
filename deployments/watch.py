"""Automatic rollback: a watched deployment whose error rate passed its threshold is rolled back."""

from datetime import datetime

from django.utils import timezone

from core.audit import SYSTEM

from .selectors import calls_since_change, deployments_watching

# Below this many calls since the change an error rate says too little to act on by itself.
AUTO_ROLLBACK_MIN_CALLS = 20


def should_roll_back(errors: int, total: int, threshold: float) -> bool:
    """Pure: enough calls, and an error rate past the threshold (a fraction, 0.05 = 5%)."""
    return total >= AUTO_ROLLBACK_MIN_CALLS and errors / total > threshold


def auto_rollback_due(now: datetime | None = None) -> list[str]:
    """Roll back every watched deployment past its threshold; return the ids rolled back."""
    from .services import deployment_rollback

    now = now or timezone.now()
    done = []
    for deployment in deployments_watching(now):
        errors, total = calls_since_change(deployment, now)
        if should_roll_back(errors, total, deployment.auto_rollback_error_rate):
            reason = (
                f"Automatic rollback: error rate {errors / total:.1%} past "
                f"{deployment.auto_rollback_error_rate:.1%} after the change."
            )
            deployment_rollback(actor=SYSTEM, deployment=deployment, reason=reason, event="auto_rolled_back")
            done.append(str(deployment.pk))
    return done
