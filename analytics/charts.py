"""Server-side SVG charts: pure geometry here, markup in templates/analytics/_chart.html.

Two kinds: lines (one per environment, in its distinct colour; a step with no value breaks the line
instead of drawing it to zero) and stacked bars (status classes per minute of one environment). Every step
carries a hover band with the values at that step (shown by static/js/charts.js, no inline script), and
the sizes are chosen for the width a chart gets in the console's two-column grid, so 13-unit labels show
at about 12 px.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 520, 240, 56, 18, 14, 30
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

Fmt = Callable[[float], str]


@dataclass
class Line:
    name: str  # the environment's name (its CSS class), label is what a person reads
    label: str
    color: str
    segments: list[str]  # SVG polyline "x,y x,y" strings
    singles: list[tuple[float, float]]  # a value between two gaps: a dot, as a one-point line draws nothing


@dataclass
class Bar:
    x: float
    y: float
    height: float
    css_class: str


@dataclass
class Dot:
    cx: float
    cy: float
    color: str


@dataclass
class Step:
    """The hover band of one time step: where it is, and what a pointer over it is told."""

    x: float
    width: float
    tip: str
    dots: list[Dot] = field(default_factory=list)


@dataclass
class Band:
    """One stacked series (a status class): its name, CSS class and values per step."""

    label: str
    css_class: str
    values: Sequence[int]


@dataclass
class Chart:
    title: str
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str, str]]  # x, text, text-anchor
    steps: list[Step]
    lines: list[Line] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    bar_width: float = 0.0
    legend: list[tuple[str, str]] = field(default_factory=list)  # label, CSS class
    empty: bool = False
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM
    plot_height: int = PLOT_H
    center_x: float = LEFT + PLOT_W / 2
    center_y: float = TOP + PLOT_H / 2


def nice_ticks(highest: float, most: int = 4) -> list[float]:
    """Pure: 0 and up to `most` evenly spaced round values (1, 2, 2.5 or 5 × 10^k), the last ≥ highest."""
    if highest <= 0:
        return [i / most for i in range(most + 1)]
    raw = highest / most
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    count = max(1, math.ceil(round(highest / step, 9)))
    return [round(i * step, 10) for i in range(count + 1)]


def first_step_with_data(totals: Sequence[float]) -> int:
    """Pure: where a chart's x axis starts: the first step with traffic, keeping at least two steps."""
    first = next((i for i, total in enumerate(totals) if total), 0)
    return max(0, min(first, len(totals) - 2))


def line_chart(
    title: str,
    starts: Sequence[datetime],
    lines: Sequence[tuple[str, str, str, Sequence[float | None]]],
    fmt: Fmt = lambda v: f"{v:g}",
) -> Chart:
    """lines: (name, label, colour, values aligned on starts)."""
    known = [v for *_, values in lines for v in values if v is not None]
    ticks = nice_ticks(max(known, default=0))
    x_of, y_of = _x_scale(len(starts)), _y_scale(ticks[-1])
    drawn = []
    for name, label, color, values in lines:
        points = [None if v is None else (x_of(i), y_of(v)) for i, v in enumerate(values)]
        drawn.append(Line(name, label, color, *_segments(points)))
    steps = []
    for i, start in enumerate(starts):
        present = [(label, color, values[i]) for _, label, color, values in lines if values[i] is not None]
        text = "\n".join(f"{label}: {fmt(v)}" for label, _, v in present) or "no traffic"
        dots = [Dot(x_of(i), y_of(v), color) for _, color, v in present]
        steps.append(Step(*_band(i, len(starts)), f"{_time(start)} UTC\n{text}", dots))
    empty = not any(known)
    return Chart(title, _y_ticks(ticks, y_of, fmt, empty), _x_labels(starts), steps, lines=drawn, empty=empty)


def stacked_bar_chart(title: str, starts: Sequence[datetime], bands: Sequence[Band]) -> Chart:
    """One bar per step, its bands stacked bottom-up in the order given."""
    totals = [sum(band.values[i] for band in bands) for i in range(len(starts))]
    ticks = nice_ticks(max(totals, default=0))
    y_of = _y_scale(ticks[-1])
    slot = PLOT_W / max(1, len(starts))
    bar_width = max(1.0, slot * 0.8)
    bars, steps = [], []
    for i, start in enumerate(starts):
        left, below = LEFT + slot * i, 0
        for band in bands:
            value = band.values[i]
            if value:
                top = y_of(below + value)
                x = round(left + (slot - bar_width) / 2, 1)
                bars.append(Bar(x, top, round(y_of(below) - top, 1), band.css_class))
                below += value
        parts = [f"{band.label}: {band.values[i]}" for band in bands if band.values[i]]
        tip = f"{_time(start)} UTC · {totals[i]} calls" + "".join(f"\n{p}" for p in parts)
        steps.append(Step(round(left, 1), round(slot, 1), tip))
    legend = [(band.label, band.css_class) for band in bands]
    return Chart(
        title,
        _y_ticks(ticks, y_of, lambda v: f"{v:g}", not any(totals)),
        _x_labels(starts, centred=True),
        steps,
        bars=bars,
        bar_width=round(bar_width, 1),
        legend=legend,
        empty=not any(totals),
    )


def _x_scale(count: int) -> Callable[[int], float]:
    """A line chart runs edge to edge: step 0 on the left axis, the last step on the right one."""
    span = max(1, count - 1)
    return lambda i: round(LEFT + PLOT_W * i / span, 1)


def _y_scale(top: float) -> Callable[[float], float]:
    top = top or 1.0
    return lambda v: round(TOP + PLOT_H * (1 - v / top), 1)


def _band(i: int, count: int) -> tuple[float, float]:
    """The hover band of step i of a line chart: halfway to each neighbour, clipped to the plot."""
    x_of, half = _x_scale(count), PLOT_W / max(1, count - 1) / 2
    left, right = max(LEFT, x_of(i) - half), min(LEFT + PLOT_W, x_of(i) + half)
    return round(left, 1), round(right - left, 1)


def _y_ticks(
    ticks: list[float], y_of: Callable[[float], float], fmt: Fmt, empty: bool
) -> list[tuple[float, str]]:
    # With nothing to scale to, only the baseline is labelled, not made-up fractions of one.
    return [(y_of(t), fmt(t)) for t in (ticks[:1] if empty else ticks)]


def _x_labels(starts: Sequence[datetime], centred: bool = False) -> list[tuple[float, str, str]]:
    """About five time labels; the first and last are anchored inward so none is cut at an edge."""
    count = len(starts)
    if not count:
        return []
    if centred:
        slot = PLOT_W / count

        def x_of(i: int) -> float:
            return round(LEFT + slot * (i + 0.5), 1)
    else:
        x_of = _x_scale(count)
    indexes = sorted({round(k * (count - 1) / 4) for k in range(5)}) if count > 4 else list(range(count))
    multi_day = (starts[-1] - starts[0]).days >= 1
    labels = []
    for i in indexes:
        anchor = "start" if i == 0 and not centred else "end" if i == count - 1 and not centred else "middle"
        labels.append((x_of(i), starts[i].strftime("%d %b %H:%M" if multi_day else "%H:%M"), anchor))
    return labels


def _time(moment: datetime) -> str:
    return moment.strftime("%b %d, %H:%M")


def _segments(points: Sequence[tuple[float, float] | None]) -> tuple[list[str], list[tuple[float, float]]]:
    """Runs of consecutive points as polylines, and the points that stand alone."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            runs.append([])
        else:
            runs[-1].append(point)
    segments = [" ".join(f"{x},{y}" for x, y in run) for run in runs if len(run) > 1]
    return segments, [run[0] for run in runs if len(run) == 1]
