"""Distinct display colours for environments: one helper for the stylesheet, the charts and the legends.

An environment keeps the colour it was given unless an earlier environment (in the caller's stable order)
already shows that colour or one too close to tell apart, or it has none; those get the next colour of a
palette that no environment has claimed. Environments created without a colour all carry the model's
default, so without this every one of them would be drawn in the same indigo.
"""

import colorsys
import functools
import itertools
import math
import re
from collections.abc import Iterable, Iterator

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")

# Twelve colours that read on white, each at least 30 ΔE from every other (ordered so the first few are as
# far apart as possible).
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
    "#854d0e",  # brown
    "#1e3a8a",  # navy
    "#a21caf",  # magenta
)
# Two colours closer than this (CIE76 ΔE, distance in CIELAB, where about 2 is barely noticeable side by
# side) are hard to tell apart as thin chart lines and legend dots: the model's default indigo #6366f1 is 9
# from blue-600 #2563eb and 28 from violet-600 #7c3aed; red-600 and red-500 are 11 apart.
MIN_DISTANCE = 30.0


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


@functools.lru_cache(maxsize=1024)
def _lab(color: str) -> tuple[float, float, float]:
    """sRGB hex to CIELAB (D65), where straight-line distance follows perceived difference."""
    linear = [_linear(int(color[i : i + 2], 16) / 255) for i in (1, 3, 5)]
    x, y, z = (sum(w * c for w, c in zip(row, linear, strict=True)) / n for row, n in _XYZ)
    fx, fy, fz = (t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in (x, y, z))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def _linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


# sRGB (linear) to XYZ rows, each with the D65 white point's value it is divided by.
_XYZ = (
    ((0.4124, 0.3576, 0.1805), 0.95047),
    ((0.2126, 0.7152, 0.0722), 1.0),
    ((0.0193, 0.1192, 0.9505), 1.08883),
)


def _close(a: str, b: str) -> bool:
    return math.dist(_lab(a), _lab(b)) < MIN_DISTANCE


def _spare_colors(claimed: list[str]) -> Iterator[str]:
    """Palette colours no environment shows (`claimed` grows as the caller assigns), then generated ones."""
    for color in PALETTE:
        if not any(_close(color, other) for other in claimed):
            yield color
    # Past the palette: a fixed grid of hues, lightnesses and saturations that read on white, hues visited
    # by the golden angle so consecutive picks differ. That gives about twenty environments colours this far
    # apart; past them, repeating the palette beats never answering.
    for lightness, saturation in _GRID_TONES:
        for step in range(36):
            r, g, b = colorsys.hls_to_rgb((step * 0.618033988749895) % 1.0, lightness, saturation)
            color = f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
            if _lab(color)[0] <= _MAX_LIGHTNESS and not any(_close(color, other) for other in claimed):
                yield color
    yield from itertools.cycle(PALETTE)


# (lightness, saturation) pairs of the grid, strongest first; candidates too pale for white are skipped.
_GRID_TONES = (
    (0.4, 0.9),
    (0.28, 0.8),
    (0.55, 0.9),
    (0.4, 0.45),
    (0.2, 0.7),
    (0.5, 0.55),
    (0.32, 0.3),
    (0.62, 0.6),
)
_MAX_LIGHTNESS = 72.0  # CIELAB L*; paler lines vanish against the white card
