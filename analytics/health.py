"""The health verdict: one pure function, shared by home, health, compare and the alert rules.

Health is what an environment's callers experienced over a window, as shares of all their calls:

- errors: calls that failed on the service's side, answered 5xx (by the upstream or by the gateway, as the
  502 of an unreachable upstream) or failed by the gateway itself (unknown route, a reset mid-body, …);
- rate-limited: calls answered 429;
- unauthorized: calls answered 401 or 403;
- latency: the P95 in milliseconds.

Each figure has a "degraded" and a "down" threshold (a share is a fraction, 0.05 = 5%); a threshold set to
None is not checked. The verdict is "down" if any figure reaches its down threshold, else "degraded" if
any reaches its degraded one, else "healthy"; "idle" when there were no calls.
"""

from collections.abc import Callable
from typing import Protocol

HEALTHY, DEGRADED, DOWN, IDLE = "healthy", "degraded", "down", "idle"

DEFAULT_THRESHOLDS: dict[str, float | None] = {
    "degraded_error_rate": 0.05,
    "down_error_rate": 0.5,
    "degraded_rate_limited_rate": 0.1,
    "down_rate_limited_rate": 0.5,
    "degraded_unauthorized_rate": 0.1,
    "down_unauthorized_rate": 0.5,
    "degraded_p95_ms": 1000.0,
    "down_p95_ms": 10000.0,
}


class CallStats(Protocol):
    """What the verdict reads: analytics.selectors.Metrics has these."""

    total: int
    errors: int
    rate_limited: int
    unauthorized: int

    def percentile(self, q: float) -> float | None: ...


def share(count: int, total: int) -> float | None:
    """count / total as a fraction; None when there were no calls (no traffic is not 0% errors)."""
    return count / total if total else None


def _percent(value: float) -> str:
    return f"{value:.1%}"


def _ms(value: float) -> str:
    return f"{value:g} ms"


# (threshold name, what the reason calls it, its value from the stats, how it is shown)
FIGURES: tuple[tuple[str, str, Callable[[CallStats], float | None], Callable[[float], str]], ...] = (
    ("error_rate", "errors (5xx and gateway)", lambda s: share(s.errors, s.total), _percent),
    ("rate_limited_rate", "rate-limited (429)", lambda s: share(s.rate_limited, s.total), _percent),
    ("unauthorized_rate", "unauthorized (401/403)", lambda s: share(s.unauthorized, s.total), _percent),
    ("p95_ms", "P95", lambda s: s.percentile(95), _ms),
)


def health_verdict(stats: CallStats, thresholds: dict) -> tuple[str, list[str]]:
    """Pure: the verdict for these calls against these thresholds, and every figure that decided it."""
    if not stats.total:
        return IDLE, ["no traffic in the window"]
    values = [(name, label, value(stats), show) for name, label, value, show in FIGURES]
    for level in (DOWN, DEGRADED):
        reasons = [
            f"{label} {show(measured)} ≥ {show(limit)}"
            for name, label, measured, show in values
            if (limit := thresholds.get(f"{level}_{name}")) is not None
            and measured is not None
            and measured >= limit
        ]
        if reasons:
            return level, reasons
    return HEALTHY, ["errors, rate-limited, unauthorized and P95 within thresholds"]
