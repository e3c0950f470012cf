"""Number formatting for the analytics pages: a dash for "no traffic", not a misleading zero."""

import math

from django import template

register = template.Library()
NONE = "—"


@register.filter
def percent(value: float | None) -> str:
    return NONE if value is None else f"{100 * value:.1f}%"


@register.filter
def ms(value: float | None) -> str:
    """Milliseconds: whole above 10 ms, one decimal below, so a 0.4 ms refusal does not read as 0 ms."""
    if value is None:
        return NONE
    if math.isinf(value):
        return "> 60 s"
    if value == 0 or value >= 9.95:
        return f"{value:.0f} ms"
    return "< 0.1 ms" if value < 0.05 else f"{value:.1f} ms"
