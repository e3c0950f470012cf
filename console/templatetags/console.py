"""Small display helpers shared by every console template."""

import json
import re
from typing import Any

from django import template
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()
URL_START = re.compile(r"^https?://", re.IGNORECASE)
URL_BREAK = re.compile(r"(?<=//)|(?<!/)(?=/(?!/))|(?=[.?#&=])")


@register.filter
def show_value(value: Any) -> str:
    """A configuration value as a person reads it: booleans as words, JSON compact, nothing as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


@register.simple_tag
def field_value(name: str, value: Any) -> SafeString:
    """One overridable field's value as markup: allowed methods as chips ("any" when the list is empty,
    which lets every method through), everything else as show_value text."""
    if name == "allowed_methods" and isinstance(value, list | tuple):
        chips = format_html_join("", '<span class="chip chip-method">{}</span>', ((m,) for m in value))
        return format_html(
            '<span class="chips">{}</span>',
            chips or mark_safe('<span class="chip chip-any" title="Every method is allowed">any</span>'),
        )
    if isinstance(value, str) and URL_START.match(value):
        return url_with_breaks(value)
    return format_html("{}", show_value(value))


def url_with_breaks(url: str) -> SafeString:
    """A URL that wraps only between its parts: a <wbr> after "//" and before each "/", ".", "?", "#", "&"
    and "=", so a narrow column never splits a word (the text, and what a copy takes, stay unchanged)."""
    parts = URL_BREAK.split(url)
    return mark_safe("<wbr>".join(escape(part) for part in parts if part))  # noqa: S308 (each part escaped)


@register.filter
def field_label(name: str) -> str:
    labels = {
        "target_base_url": "Target base URL",
        "timeout_ms": "Timeout (ms)",
        "inject_headers_json": "Injected headers",
        "inject_body_json": "Injected body fields",
        "rate_limit_window_sec": "Rate limit window (s)",
        "requires_clients": "Requires clients",
    }
    return labels.get(name, name.replace("_", " ").capitalize())


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None
