"""Distinct display colours for environments: one helper for the stylesheet, the charts and the legends.

An environment keeps the colour it was given unless an earlier environment (in the caller's stable order)
already shows that colour or one too close to tell apart, or it has none; those get the next colour of a
palette that no environment has claimed. Environments created without a colour all carry the model's
default, so without this every one of them would be drawn in the same indigo.
"""

import colorsys
import itertools
import math
import re
from collections.abc import Iterable, Iterator

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")

# Twelve hues that read on white and differ from each other for most colour-vision types (ordered so the
# first few are as far apart as possible).
PALETTE = (
    "#2563eb",  # blue
    "#d97706",  # amber
    "#059669",  # emerald
    "#dc2626",  # red
    "#7c3aed",  # violet
    "#0891b2",  # cyan
    "#db2777",  # pink
    "#65a30d",  # lime
    "#475569",  # slate
    "#ea580c",  # orange
    "#4f46e5",  # indigo
    "#0d9488",  # teal
)
# Two colours closer than this (Euclidean distance in 0-255 RGB) are hard to tell apart as thin chart
# lines or legend dots: #dc2626 and #dc2727 collide, red-600 and red-500 (#ef4444, distance 46) do not.
MIN_DISTANCE = 32.0


def distinct_colors(environments: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """Pure: {name: colour} for (name, own colour) pairs given in a stable order, every colour distinct.

    The order decides who keeps a shared colour (the first) and which palette colour each of the others
    gets, so pass an order that does not change when environments are added (e.g. creation order).
    """
    pairs = list(environments)
    result: dict[str, str] = {}
    claimed: list[str] = []
    for name, color in pairs:
        own = _normalised(color)
        if own and not any(_close(own, other) for other in claimed):
            result[name] = own
            claimed.append(own)
    spare = _spare_colors(claimed)
    for name, _ in pairs:
        if name not in result:
            result[name] = next(spare)
            claimed.append(result[name])
    return result


def _normalised(color: str | None) -> str | None:
    return color.lower() if color and HEX_COLOR.match(color) else None


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _close(a: str, b: str) -> bool:
    return math.dist(_rgb(a), _rgb(b)) < MIN_DISTANCE


def _spare_colors(claimed: list[str]) -> Iterator[str]:
    """Palette colours no environment shows (`claimed` grows as the caller assigns), then generated ones."""
    for color in PALETTE:
        if not any(_close(color, other) for other in claimed):
            yield color
    # Past the palette: hues spread by the golden angle at three lightnesses, so they read on white. With
    # dozens of environments the colour space runs out; then a near-duplicate beats never answering.
    skipped = 0
    for step in itertools.count():
        lightness = (0.42, 0.30, 0.55)[step // 360 % 3]
        r, g, b = colorsys.hls_to_rgb((step * 0.618033988749895) % 1.0, lightness, 0.65)
        color = f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
        if skipped >= 1000 or not any(_close(color, other) for other in claimed):
            skipped = 0
            yield color
        else:
            skipped += 1
