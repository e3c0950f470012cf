"""What the analytics pages chart: the compare page's lines and the health page's status classes.

Series come from the selectors; the geometry is analytics.charts; this module picks the values, the
colours (one distinct colour per environment) and where each chart's time axis starts.
"""

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from environments.selectors import environment_display_colors

from . import selectors
from .charts import Band, Chart, first_step_with_data, line_chart, stacked_bar_chart


def compare_charts(
    environments: list, series: list[selectors.Series], step: timedelta, until: datetime
) -> list[Chart]:
    """Requests per minute, error rate and P95 per environment, from the first step with traffic."""
    colors, labels = environment_display_colors(), {e.name: e.label for e in environments}
    series = from_first_traffic(series)
    starts = series[0].starts if series else []
    minutes = [_minutes_covered(start, step, until) for start in starts]

    def lines(value: Callable[[selectors.Metrics, int], float | None]) -> list:
        return [
            (
                s.environment,
                labels[s.environment],
                colors[s.environment],
                [value(p, i) for i, p in enumerate(s.points)],
            )
            for s in series
        ]

    return [
        line_chart("Requests per minute", starts, lines(lambda p, i: round(p.total / minutes[i], 1))),
        line_chart(
            "Error rate (%)",
            starts,
            lines(lambda p, _: None if p.error_rate is None else 100 * p.error_rate),
            fmt=lambda v: f"{v:.1f}%",
        ),
        line_chart("P95 latency (ms)", starts, lines(lambda p, _: p.p95), fmt=lambda v: f"{v:.0f} ms"),
    ]


def _minutes_covered(start: datetime, step: timedelta, until: datetime) -> int:
    """Minutes of a step the window has reached: the last step is often partial, and dividing its calls by
    the whole step would draw a drop at the right edge that never happened."""
    return max(1, math.ceil(min(step, until - start) / timedelta(minutes=1)))


def from_first_traffic(series: list[selectors.Series]) -> list[selectors.Series]:
    """The same series starting at the first step any environment had traffic: an hour-old deployment in a
    7-day window fills the chart instead of a sliver at its right edge."""
    if not series:
        return series
    totals = [sum(s.points[i].total for s in series) for i in range(len(series[0].starts))]
    first = first_step_with_data(totals)
    return [selectors.Series(s.environment, s.starts[first:], s.points[first:]) for s in series]


STATUS_BANDS = (
    ("2xx", "2xx", "band-2xx"),
    ("3xx", "3xx", "band-3xx"),
    ("4xx", "4xx", "band-4xx"),
    ("5xx", "5xx", "band-5xx"),
    ("gateway", "Gateway errors", "band-gateway"),
)


def status_charts(environments: list, now: datetime) -> list[dict]:
    """Per environment, calls per minute stacked by status class, over the last hour on one shared axis."""
    names = [e.name for e in environments]
    since = now - selectors.STATUS_CHART_WINDOW
    series = selectors.time_series(environments=names, since=since, until=now, step=timedelta(minutes=1))
    series = from_first_traffic(series)
    charts = []
    for environment, s in zip(environments, series, strict=True):
        split = [p.status_classes() for p in s.points]
        bands = [Band(label, css, [c[key] for c in split]) for key, label, css in STATUS_BANDS]
        chart = stacked_bar_chart(f"{environment.label}: calls per minute by status", s.starts, bands)
        charts.append({"environment": environment, "chart": chart})
    return charts
