"""Plain JSON values: turning model field values into them, and bounding what the API stores of them."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

# Every JSON value the configuration stores (injected bodies and headers) is nested at most this deep, so
# it can be rendered, exported as YAML (a recursive dumper) and applied back without hitting a recursion
# limit anywhere on the way.
MAX_JSON_DEPTH = 32


def json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def json_depth(value: Any) -> int:
    """How deeply containers nest in `value` (a scalar is 0, `{}` and `[]` are 1); never recursive."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def json_value_problem(value: Any, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why a stored JSON value would not survive every store and export, or None when it is fine.

    Besides depth: lone surrogates cannot be encoded as UTF-8 (SQLite, YAML files) and NUL cannot be held
    by PostgreSQL's jsonb, so both are refused in keys and strings.
    """
    if json_depth(value) > max_depth:
        return f"Nested more than {max_depth} levels deep."
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, str) and _unstorable(item):
            return "Holds a NUL character or a lone surrogate, which cannot be stored."
    return None


def _unstorable(text: str) -> bool:
    if "\0" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
