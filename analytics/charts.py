"""Server-side SVG line charts: pure geometry here, markup in templates/analytics/_chart.html.

One line per environment in its own colour; a step with no value (no traffic, so no P95) breaks the line
instead of drawing it to zero.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 200, 56, 12, 12, 28


@dataclass
class Line:
    name: str
    color: str
    segments: list[str]  # SVG polyline "x,y x,y" strings


@dataclass
class Chart:
    title: str
    lines: list[Line]
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM


def line_chart(
    title: str,
    starts: Sequence[datetime],
    lines: Sequence[tuple[str, str, Sequence[float | None]]],
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
) -> Chart:
    """lines: (name, colour, values aligned on starts)."""
    known = [v for _, _, values in lines for v in values if v is not None]
    top = max(known, default=0) or 1.0
    n = max(1, len(starts) - 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def point(i: int, v: float) -> str:
        return f"{LEFT + plot_w * i / n:.1f},{TOP + plot_h * (1 - v / top):.1f}"

    drawn = [Line(name, color, _segments(values, point)) for name, color, values in lines]
    y_ticks = [(TOP + plot_h * (1 - f), fmt(top * f)) for f in (0, 0.5, 1)]
    step = max(1, len(starts) // 4)
    x_labels = [
        (LEFT + plot_w * i / n, starts[i].strftime("%H:%M" if n < 100 else "%d %H:%M"))
        for i in range(0, len(starts), step)
    ]
    return Chart(title, drawn, y_ticks, x_labels)


def _segments(values: Sequence[float | None], point: Callable[[int, float], str]) -> list[str]:
    segments, current = [], []
    for i, value in enumerate(values):
        if value is None:
            if current:
                segments.append(" ".join(current))
            current = []
        else:
            current.append(point(i, value))
    if current:
        segments.append(" ".join(current))
    return segments
