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
    if value is None:
        return NONE
    return "> 60 s" if math.isinf(value) else f"{value:.0f} ms"
