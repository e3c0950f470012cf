"""A fixed, log-spaced latency histogram: buckets from any minutes merge by adding counts.

Pure functions only; rollups, selectors, alerts and dashboards share them.
"""

import bisect
import math
from collections.abc import Iterable, Sequence

# Upper bounds in milliseconds: 4 buckets per doubling from 1 ms to 60 s (about 19% wide each), plus an
# overflow bucket for anything slower. Percentiles are reported as the upper bound of their bucket.
_STEPS_PER_DOUBLING = 4
_MAX_MS = 60_000.0
BOUNDS_MS: tuple[float, ...] = tuple(
    round(2 ** (i / _STEPS_PER_DOUBLING), 3) for i in range(int(math.log2(_MAX_MS) * _STEPS_PER_DOUBLING) + 2)
)
SIZE = len(BOUNDS_MS) + 1  # the last slot counts latencies above the highest bound


def empty() -> list[int]:
    return [0] * SIZE


def bucket_index(latency_ms: float) -> int:
    return bisect.bisect_left(BOUNDS_MS, latency_ms)


def merge(histograms: Iterable[Sequence[int]]) -> list[int]:
    total = empty()
    for histogram in histograms:
        for i, count in enumerate(histogram):
            total[i] += count
    return total


def percentile(histogram: Sequence[int], q: float) -> float | None:
    """The q-th percentile (0-100) as the upper bound of the bucket holding it; None when empty."""
    count = sum(histogram)
    if count == 0:
        return None
    rank = max(1, math.ceil(q / 100 * count))
    seen = 0
    for i, n in enumerate(histogram):
        seen += n
        if seen >= rank:
            return BOUNDS_MS[i] if i < len(BOUNDS_MS) else math.inf
    return math.inf
