"""Small display helpers shared by every console template."""

import json
from typing import Any

from django import template

register = template.Library()


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


@register.filter
def field_label(name: str) -> str:
    labels = {
        "target_base_url": "Target base URL", "timeout_ms": "Timeout (ms)",
        "inject_headers_json": "Injected headers", "inject_body_json": "Injected body fields",
        "rate_limit_window_sec": "Rate limit window (s)", "requires_clients": "Requires clients",
    }
    return labels.get(name, name.replace("_", " ").capitalize())


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None
