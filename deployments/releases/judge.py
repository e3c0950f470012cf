"""The release judge: one pure function that compares a release's candidate side with its stable side.

Input: the release's analysis rules, each side's calls, errors and latency histogram since the step began
(analytics.selectors.release_metrics_by_side), and how long the step has run. Output: a verdict with its
reason and the numbers behind it, stored as a ReleaseCheck and shown as is.

1. Too few candidate calls → inconclusive ("12 of 50 calls"): no verdict either way on a handful of calls.
2. A candidate error rate above the absolute limit → fail at once, whatever the stable side does.
3. Errors against the concurrent stable side: if both sides fail alike, each failed call lands on the
   candidate with probability π = the candidate's share of calls. The test is a Beta(1,1)-mixture likelihood
   ratio on (candidate errors, all errors) against Binomial(π), an e-value: under the null its expected value
   is 1, so by Ville's inequality the chance it *ever* reaches 1/α is at most α however often it is looked
   at. Checking every 15 s therefore does not multiply false rollbacks, which a fixed p-value would (the
   approach of Lindon & Malek for count data, used by Netflix for canaries; research/deploy-workflows.md
   c.4). It fails only with a real effect too: the candidate's error rate above stable's by min_effect.
4. Latency from the histograms: T = max(stable P95 × max_p95_ratio, stable P95 + 25 ms). A candidate like
   the stable side puts at most 5% of its calls above T; the same kind of e-value on the count of slower
   calls fails it when clearly more do.
"""

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from analytics import histogram

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
ALPHA = 0.01  # the bound on a false fail per test over a whole step, however many looks
LATENCY_MIN_DELTA_MS = 25.0  # histogram buckets are ~19% wide: small P95 gaps are not differences
LATENCY_NULL_SHARE = 0.05  # a stable-like candidate has at most 5% of its calls above stable's P95


class SideStats(Protocol):
    """What the judge reads of a side (analytics.selectors.Metrics has these)."""

    total: int
    errors: int
    latency_histogram: list[int]


@dataclass(frozen=True)
class Judgement:
    verdict: str
    reason: str
    numbers: dict[str, Any] = field(default_factory=dict)


def judge(rules: dict, stable: SideStats, candidate: SideStats, *, elapsed_seconds: float) -> Judgement:
    """Pure: the verdict on the candidate against the stable side since the step began."""
    numbers = side_numbers(stable, candidate) | {"elapsed_seconds": round(elapsed_seconds, 1)}
    min_calls = int(rules.get("min_calls", 50))
    if candidate.total < min_calls:
        reason = f"{candidate.total} of {min_calls} calls on the candidate since the step began"
        return Judgement(INCONCLUSIVE, f"Not enough calls yet: {reason}.", numbers)
    max_error_rate = float(rules.get("max_error_rate", 0.5))
    if candidate.errors / candidate.total > max_error_rate:
        reason = f"candidate error rate {candidate.errors / candidate.total:.1%} > {max_error_rate:.1%}"
        return Judgement(FAIL, f"Absolute limit: {reason}.", numbers)
    if stable.total == 0:
        reason = "No stable calls to compare with; the candidate is within the absolute error limit."
        return Judgement(PASS, reason, numbers)
    errors = error_comparison(stable, candidate, float(rules.get("min_effect", 0.05)))
    latency = latency_comparison(stable, candidate, float(rules.get("max_p95_ratio", 1.2)), min_calls)
    numbers |= errors.numbers | latency.numbers
    failed = [part.reason for part in (errors, latency) if part.verdict == FAIL]
    if failed:
        return Judgement(FAIL, " ".join(failed), numbers)
    return Judgement(PASS, f"{errors.reason} {latency.reason}", numbers)


def side_numbers(stable: SideStats, candidate: SideStats) -> dict[str, Any]:
    """Calls, errors, error rate and P50/P95 of each side: what every check shows."""

    def of(side: SideStats) -> dict[str, Any]:
        return {
            "calls": side.total,
            "errors": side.errors,
            "error_rate": round(side.errors / side.total, 4) if side.total else None,
            "p50_ms": histogram.percentile(side.latency_histogram, 50),
            "p95_ms": histogram.percentile(side.latency_histogram, 95),
        }

    return {"stable": of(stable), "candidate": of(candidate)}


def log_mixture_evalue(hits: float, trials: int, null_share: float) -> float:
    """log of the Beta(1,1)-mixture likelihood ratio of `hits` in `trials` against Binomial(null_share).

    A nonnegative martingale under the null, so P(it ever reaches 1/α) ≤ α (Ville's inequality). `hits` may
    be fractional (latency counts interpolated inside a histogram bucket)."""
    if trials == 0 or null_share >= 1.0:
        return 0.0
    if null_share <= 0.0:
        return math.inf if hits else 0.0
    log_mixture = math.lgamma(1 + hits) + math.lgamma(1 + trials - hits) - math.lgamma(2 + trials)
    log_null = hits * math.log(null_share) + (trials - hits) * math.log(1 - null_share)
    return log_mixture - log_null


def error_comparison(stable: SideStats, candidate: SideStats, min_effect: float) -> Judgement:
    share = candidate.total / (candidate.total + stable.total)
    all_errors = candidate.errors + stable.errors
    log_e = log_mixture_evalue(candidate.errors, all_errors, share)
    effect = candidate.errors / candidate.total - stable.errors / stable.total
    numbers = {"error_evalue": _shown(log_e), "error_effect": round(effect, 4), "candidate_share": share}
    significant = log_e >= math.log(1 / ALPHA) and effect > 0
    if significant and effect >= min_effect:
        reason = (
            f"Errors: candidate {candidate.errors}/{candidate.total} against stable "
            f"{stable.errors}/{stable.total}, {effect:+.1%} (limit {min_effect:.1%}), "
            f"e-value {_shown(log_e)}."
        )
        return Judgement(FAIL, reason, numbers)
    if significant:
        reason = f"Errors: {effect:+.1%} against stable, significant but below the minimum {min_effect:.1%}."
    else:
        reason = f"Errors: {effect:+.1%} against stable, no significant difference."
    return Judgement(PASS, reason, numbers)


def latency_comparison(
    stable: SideStats, candidate: SideStats, max_ratio: float, min_calls: int
) -> Judgement:
    stable_p95 = histogram.percentile(stable.latency_histogram, 95)
    if stable.total < min_calls or stable_p95 is None or math.isinf(stable_p95):
        return Judgement(PASS, "Latency: too few stable calls to compare.", {})
    limit = max(stable_p95 * max_ratio, stable_p95 + LATENCY_MIN_DELTA_MS)
    slower = calls_at_or_above(candidate.latency_histogram, limit)
    log_e = log_mixture_evalue(slower, candidate.total, LATENCY_NULL_SHARE)
    share = slower / candidate.total
    numbers = {
        "latency_limit_ms": round(limit, 1),
        "slower_calls": round(slower, 1),
        "latency_evalue": _shown(log_e),
    }
    if log_e >= math.log(1 / ALPHA) and share > LATENCY_NULL_SHARE:
        reason = (
            f"Latency: {share:.0%} of candidate calls took {limit:.0f} ms or more "
            f"(stable P95 {stable_p95:g} ms × {max_ratio:g}), e-value {_shown(log_e)}."
        )
        return Judgement(FAIL, reason, numbers)
    return Judgement(PASS, f"Latency: {share:.0%} of candidate calls over {limit:.0f} ms.", numbers)


def calls_at_or_above(counts: list[int], limit_ms: float) -> float:
    """Calls at limit_ms or slower: whole buckets above it, and the share of the bucket holding it that lies
    above it, taking latencies as spread evenly on a log scale inside a bucket (buckets are ~19% wide, and
    counting that bucket whole or not at all would make the test blunt or loose)."""
    lower_bounds = (0.0, *histogram.BOUNDS_MS)
    slower = 0.0
    for i, count in enumerate(counts):
        lower = lower_bounds[i]
        upper = histogram.BOUNDS_MS[i] if i < len(histogram.BOUNDS_MS) else math.inf
        if lower >= limit_ms:
            slower += count
        elif upper > limit_ms and lower > 0 and not math.isinf(upper):
            slower += count * math.log(upper / limit_ms) / math.log(upper / lower)
    return slower


def _shown(log_e: float) -> float:
    """An e-value for people: large ones capped (a 1e+40 says no more than 1e+12 does)."""
    return round(math.exp(min(log_e, math.log(1e12))), 2)


# --- what to do with a verdict ----------------------------------------------------------------------------

HOLD, PROMOTE, WAIT, FINALIZE, ROLL_BACK, PAUSE = "hold", "promote", "wait", "finalize", "roll_back", "pause"


def decide(
    judgement: Judgement, *, step: dict, is_last_step: bool, elapsed_seconds: float, rules: dict
) -> str:
    """Pure: the action a verdict calls for. Only a pass whose hold has elapsed moves a release forward;
    inconclusive for too long pauses it (never promotes), and a fail rolls it back."""
    if judgement.verdict == FAIL:
        return ROLL_BACK
    if judgement.verdict == INCONCLUSIVE:
        timeout = float(rules.get("inconclusive_timeout_seconds", 900))
        return PAUSE if elapsed_seconds >= timeout else HOLD
    if elapsed_seconds < float(step.get("hold_seconds", 0)):
        return HOLD
    if step.get("needs_approval"):
        return WAIT
    return FINALIZE if is_last_step else PROMOTE
