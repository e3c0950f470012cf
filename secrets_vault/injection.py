"""What the proxy injects for one (route, environment), prepared when the route table is built.

`build_injection` parses the effective route's templates and binds each secret placeholder to the
environment's decrypted value (or to the reason it has none). At request time `Injection.context` checks
expiry and refuses with a gateway error code; rendering is then a few string joins. Decrypted values live
only here, in the proxy's in-memory route table; messages name secrets and environments, never values.
"""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .rendering import (
    SECRET,
    Placeholder,
    RenderContext,
    Template,
    TemplateError,
    merge_json,
    parse_body,
    parse_headers,
    render_body,
    render_headers,
    secret_placeholders,
)

log = logging.getLogger(__name__)

FORBIDDEN_IN_HEADERS = ("\r", "\n", "\0")


class InjectionRefused(Exception):
    """The call must not go upstream; `code` is the gateway error code (secret_missing, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class SecretInfo:
    id: str
    name: str
    expires_at: datetime | None
    strict_expiry: bool


@dataclass(frozen=True)
class Vault:
    """Every secret and every decrypted value, keyed (secret id, environment name); failures as messages."""

    by_name: Mapping[str, SecretInfo] = field(default_factory=dict)
    by_id: Mapping[str, SecretInfo] = field(default_factory=dict)
    values: Mapping[tuple[str, str], str] = field(default_factory=dict)
    failures: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def find(self, placeholder: Placeholder) -> SecretInfo | None:
        return (self.by_name if placeholder.kind == SECRET else self.by_id).get(placeholder.arg)


@dataclass(frozen=True, slots=True)
class SecretSlot:
    placeholder: Placeholder
    name: str
    value: str | None
    problem: str  # "" when usable, else secret_missing or secret_unavailable
    message: str
    expires_at: datetime | None
    strict_expiry: bool


@dataclass(frozen=True, slots=True)
class Injection:
    environment: str
    route_name: str
    headers: tuple[tuple[str, Template], ...] = ()
    body: Any = None  # parsed inject_body_json, or None when there is nothing to merge
    slots: tuple[SecretSlot, ...] = ()
    problem: str = ""  # a template that could not be parsed refuses every call
    secret_names: tuple[str, ...] = ()

    @property
    def header_names(self) -> frozenset[bytes]:
        return frozenset(name.encode("latin-1") for name, _ in self.headers)

    def context(self, request_id: str, now: datetime | None = None) -> RenderContext:
        """The values for one call, or InjectionRefused when a secret is missing, expired or unusable."""
        if self.problem:
            raise InjectionRefused("secret_unavailable", self.problem)
        now = now or datetime.now(UTC)
        secrets = {}
        for slot in self.slots:
            if slot.problem:
                raise InjectionRefused(slot.problem, slot.message)
            if slot.expires_at is not None and slot.expires_at <= now:
                message = f"Secret '{slot.name}' expired at {slot.expires_at.isoformat()}."
                if slot.strict_expiry:
                    raise InjectionRefused("secret_expired", message)
                log.warning(
                    "%s Injected anyway (non-strict) for %s in %s.",
                    message,
                    self.route_name,
                    self.environment,
                )
            secrets[slot.placeholder] = slot.value
        timestamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        return RenderContext(secrets, self.environment, self.route_name, request_id, timestamp)

    def render_headers(self, context: RenderContext) -> list[tuple[bytes, bytes]]:
        rendered = []
        for name, value in render_headers(self.headers, context):
            if any(char in value for char in FORBIDDEN_IN_HEADERS):
                raise InjectionRefused("secret_unavailable", f"Header {name} would contain CR, LF or NUL.")
            rendered.append((name.encode("latin-1"), value.encode()))
        return rendered

    def merge_body(self, body: bytes, context: RenderContext) -> bytes:
        """The caller's JSON body with inject_body_json merged in; ValueError when it is not a JSON object."""
        caller = json.loads(body) if body.strip() else {}
        if not isinstance(caller, dict):
            raise ValueError("the JSON body is not an object")
        return json.dumps(merge_json(caller, render_body(self.body, context))).encode()


def _slot(placeholder: Placeholder, environment: str, vault: Vault) -> SecretSlot:
    info = vault.find(placeholder)
    if info is None:
        message = f"Secret {placeholder} does not exist (environment {environment})."
        return SecretSlot(placeholder, placeholder.arg, None, "secret_missing", message, None, False)
    key = (info.id, environment)
    value, problem, message = vault.values.get(key), "", ""
    if key in vault.failures:
        problem = "secret_unavailable"
        message = f"Secret '{info.name}' cannot be decrypted in environment {environment}."
    elif value is None:
        problem = "secret_missing"
        message = f"Secret '{info.name}' has no value in environment {environment}."
    return SecretSlot(placeholder, info.name, value, problem, message, info.expires_at, info.strict_expiry)


def build_injection(
    config: Mapping[str, Any], environment: str, route_name: str, vault: Vault
) -> Injection | None:
    """The prepared injection of an effective route config, or None when it injects nothing."""
    headers_json, body_json = config.get("inject_headers_json"), config.get("inject_body_json")
    if not headers_json and not body_json:
        return None
    try:
        headers, body = parse_headers(headers_json), parse_body(body_json) if body_json else None
    except TemplateError as exc:
        return Injection(environment, route_name, problem=f"Route templates are invalid: {exc}")
    slots = tuple(_slot(p, environment, vault) for p in secret_placeholders((headers, body)))
    names = tuple(dict.fromkeys(slot.name for slot in slots))
    return Injection(environment, route_name, headers, body, slots, secret_names=names)
