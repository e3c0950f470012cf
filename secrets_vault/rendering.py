"""Placeholder templates of injected headers and bodies: parse once, render cheaply, no database.

Placeholders: `{{secret:NAME}}`, `{{secret_id:UUID}}`, `{{environment}}`, `{{route.name}}`,
`{{request_id}}` and `{{timestamp}}` (UTC, ISO 8601). A template is parsed into a tuple of literal strings
and Placeholder objects when the route table is built (or when the console previews or validates a route),
so rendering per request is a join over a few parts. The proxy and the console share these functions.
"""

import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

PLACEHOLDER_RE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
SECRET_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")
CONTEXT_VARIABLES = frozenset({"environment", "route.name", "request_id", "timestamp"})
SECRET = "secret"
SECRET_ID = "secret_id"


class TemplateError(ValueError):
    """A template that cannot be parsed; the message says which placeholder and why."""


@dataclass(frozen=True, slots=True)
class Placeholder:
    kind: str  # "secret", "secret_id" or one of CONTEXT_VARIABLES
    arg: str = ""  # the secret's name or UUID

    @property
    def is_secret(self) -> bool:
        return self.kind in (SECRET, SECRET_ID)

    def __str__(self) -> str:
        return "{{" + (f"{self.kind}:{self.arg}" if self.arg else self.kind) + "}}"


Template = tuple[str | Placeholder, ...]


ENVIRONMENT = Placeholder("environment")
ROUTE_NAME = Placeholder("route.name")
REQUEST_ID = Placeholder("request_id")
TIMESTAMP = Placeholder("timestamp")


class RenderContext:
    """The value of every placeholder of one render, so rendering is one dict lookup per placeholder."""

    __slots__ = ("values",)

    def __init__(
        self,
        secrets: Mapping[Placeholder, str],
        environment: str = "",
        route_name: str = "",
        request_id: str = "",
        timestamp: str = "",
    ) -> None:
        context = {
            ENVIRONMENT: environment,
            ROUTE_NAME: route_name,
            REQUEST_ID: request_id,
            TIMESTAMP: timestamp,
        }
        self.values: dict[Placeholder, str] = {**secrets, **context}

    @classmethod
    def from_values(cls, values: dict[Placeholder, str]) -> "RenderContext":
        context = cls.__new__(cls)
        context.values = values
        return context


def _placeholder(expression: str) -> Placeholder:
    if expression in CONTEXT_VARIABLES:
        return Placeholder(expression)
    kind, _, arg = expression.partition(":")
    kind, arg = kind.strip(), arg.strip()
    if kind == SECRET and SECRET_NAME_RE.match(arg):
        return Placeholder(SECRET, arg)
    if kind == SECRET_ID:
        try:
            return Placeholder(SECRET_ID, str(uuid.UUID(arg)))
        except ValueError:
            raise TemplateError(f"{{{{{expression}}}}}: '{arg}' is not a secret UUID.") from None
    raise TemplateError(
        f"Unknown placeholder {{{{{expression}}}}}: use secret:NAME, secret_id:UUID, "
        + ", ".join(sorted(CONTEXT_VARIABLES))
        + "."
    )


def parse_template(text: str) -> Template:
    parts: list[str | Placeholder] = []
    position = 0
    for match in PLACEHOLDER_RE.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        parts.append(_placeholder(match.group(1)))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return tuple(parts)


def parse_headers(mapping: Mapping[str, Any] | None) -> tuple[tuple[str, Template], ...]:
    """inject_headers_json (header name -> template) as (lowercase name, parsed template) pairs."""
    if not mapping:
        return ()
    if not isinstance(mapping, Mapping):
        raise TemplateError("Injected headers must be a JSON object of header name to template.")
    parsed = []
    for name, template in mapping.items():
        if not isinstance(template, str):
            raise TemplateError(f"Header {name}: the template must be a string.")
        parsed.append((str(name).strip().lower(), parse_template(template)))
    return tuple(parsed)


def parse_body(value: Any) -> Any:
    """inject_body_json with every string that holds a placeholder replaced by its parsed template."""
    if isinstance(value, str):
        template = parse_template(value)
        return template if any(isinstance(part, Placeholder) for part in template) else value
    if isinstance(value, Mapping):
        return {str(key): parse_body(item) for key, item in value.items()}
    if isinstance(value, list):
        return [parse_body(item) for item in value]
    return value


def placeholders(parsed: Any) -> Iterator[Placeholder]:
    """Every placeholder in parsed headers, a parsed body or a single template."""
    if isinstance(parsed, Placeholder):
        yield parsed
    elif isinstance(parsed, tuple | list):
        for item in parsed:
            yield from placeholders(item)
    elif isinstance(parsed, Mapping):
        for item in parsed.values():
            yield from placeholders(item)


def secret_placeholders(parsed: Any) -> list[Placeholder]:
    """The distinct secret placeholders, in the order they first appear."""
    return list(dict.fromkeys(p for p in placeholders(parsed) if p.is_secret))


def injected_secret_placeholders(headers_json: Any, body_json: Any) -> dict[str, list[Placeholder]]:
    """The secret placeholders of each injection field, as the proxy will read them."""
    return {
        "inject_headers_json": secret_placeholders(parse_headers(headers_json)),
        "inject_body_json": secret_placeholders(parse_body(body_json or {})),
    }


def render(template: Template, context: RenderContext) -> str:
    values = context.values
    return "".join([part if part.__class__ is str else values[part] for part in template])


def render_headers(parsed: tuple[tuple[str, Template], ...], context: RenderContext) -> list[tuple[str, str]]:
    return [(name, render(template, context)) for name, template in parsed]


def render_body(parsed: Any, context: RenderContext) -> Any:
    if isinstance(parsed, tuple):
        return render(parsed, context)
    if isinstance(parsed, dict):
        return {key: render_body(item, context) for key, item in parsed.items()}
    if isinstance(parsed, list):
        return [render_body(item, context) for item in parsed]
    return parsed


def merge_json(body: Any, injected: Any) -> Any:
    """The caller's JSON with the injected JSON merged in: objects merge key by key, injected values win."""
    if isinstance(body, dict) and isinstance(injected, dict):
        merged = dict(body)
        for key, value in injected.items():
            merged[key] = merge_json(body[key], value) if key in body else value
        return merged
    return injected


def masked_context(parsed: Any, *, environment: str, route_name: str) -> RenderContext:
    """A context for the console's preview: secrets show as their placeholder, never as a value."""
    return RenderContext(
        secrets={p: f"••••({p.arg})" for p in secret_placeholders(parsed)},
        environment=environment,
        route_name=route_name,
        request_id="<request id>",
        timestamp="<timestamp>",
    )
