"""What the proxy injects for one (route, environment), prepared when the route table is built.

`parse_templates` parses the effective route's templates (the route table does it once per route and set of
templates) and `bind_injection` binds each secret placeholder to the environment's decrypted value (or to
the reason it has none). At request time `Injection.context` checks
expiry and refuses with a gateway error code; rendering is then a few string joins. Decrypted values live
only here, in the proxy's in-memory route table; messages name secrets and environments, never values.
"""

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .rendering import (
    ENVIRONMENT,
    REQUEST_ID,
    ROUTE_NAME,
    SECRET,
    TIMESTAMP,
    Placeholder,
    RenderContext,
    Template,
    TemplateError,
    merge_json,
    parse_body,
    parse_headers,
    placeholders,
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
    values: Mapping[tuple[str, str], str] = field(default_factory=dict, repr=False)
    failures: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def find(self, placeholder: Placeholder) -> SecretInfo | None:
        return (self.by_name if placeholder.kind == SECRET else self.by_id).get(placeholder.arg)

    def replacing(self, secret_ids: set[str], fresh: "Vault") -> "Vault":
        """This vault with the given secrets as `fresh` has them (gone when it has not): a change to one
        secret decrypts that secret's values only, and shares everything else with this vault."""
        by_id = {key: info for key, info in self.by_id.items() if key not in secret_ids} | dict(fresh.by_id)

        def kept(entries: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], str]:
            return {key: value for key, value in entries.items() if key[0] not in secret_ids}

        return Vault(
            by_name={info.name: info for info in by_id.values()},
            by_id=by_id,
            values=kept(self.values) | dict(fresh.values),
            failures=kept(self.failures) | dict(fresh.failures),
        )


@dataclass(frozen=True, slots=True)
class SecretSlot:
    placeholder: Placeholder
    name: str
    value: str | None = field(repr=False)
    problem: str  # "" when usable, else secret_missing or secret_unavailable
    message: str
    expires_at: datetime | None
    strict_expiry: bool
    inherited_from: str = ""  # the parent environment whose value is used, when not the environment's own

    @property
    def used_as(self) -> str:
        """How the request log names it: `NAME`, or `NAME@staging` for a value inherited from staging."""
        return f"{self.name}@{self.inherited_from}" if self.inherited_from else self.name


@dataclass(frozen=True, slots=True)
class Injection:
    """Everything static is worked out at build time; a call adds only its request id and the time."""

    environment: str
    route_name: str
    headers: tuple[tuple[str, Template], ...] = ()
    body: Any = None  # parsed inject_body_json, or None when there is nothing to merge
    refusal: tuple[str, str] | None = None  # (code, message) that refuses every call
    expiring: tuple[tuple[float, SecretSlot], ...] = ()  # (expiry as a Unix time, slot)
    # Secrets, environment and route name; kept out of repr so a logged table never shows a value.
    values: Mapping[Placeholder, str] = field(default_factory=dict, repr=False)
    uses_timestamp: bool = False
    secret_names: tuple[str, ...] = ()
    header_names: frozenset[bytes] = frozenset()  # what a caller's copy is removed for
    # When no template names the request id or the time, every call renders alike: its context and its
    # headers are made once, here, instead of on every call.
    fixed_context: RenderContext | None = field(default=None, repr=False, compare=False)
    fixed_headers: tuple[tuple[bytes, bytes], ...] = field(default=(), repr=False, compare=False)

    def context(self, request_id: str, now: float | None = None) -> RenderContext:
        """The values for one call, or InjectionRefused when a secret is missing, expired or unusable."""
        if self.refusal:
            raise InjectionRefused(*self.refusal)
        if self.expiring or self.uses_timestamp:
            now = time.time() if now is None else now
        for expires, slot in self.expiring:
            if expires <= now:
                self._expired(slot)
        if self.fixed_context is not None:
            return self.fixed_context
        values = dict(self.values)
        values[REQUEST_ID] = request_id
        if self.uses_timestamp:
            values[TIMESTAMP] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return RenderContext.from_values(values)

    def _expired(self, slot: SecretSlot) -> None:
        message = f"Secret '{slot.name}' expired at {slot.expires_at.isoformat()}."
        if slot.strict_expiry:
            raise InjectionRefused("secret_expired", message)
        log.warning(
            "%s Injected anyway (non-strict) for %s in %s.", message, self.route_name, self.environment
        )

    def render_headers(self, context: RenderContext) -> list[tuple[bytes, bytes]]:
        """Header values were checked for CR/LF/NUL at build time (request ids are sanitised tokens)."""
        if context is self.fixed_context:
            return list(self.fixed_headers)
        return _encoded(render_headers(self.headers, context))

    def merge_body(self, body: bytes, context: RenderContext) -> bytes:
        """The caller's JSON body with inject_body_json merged in; ValueError when it is not a JSON object."""
        caller = json.loads(body) if body.strip() else {}
        if not isinstance(caller, dict):
            raise ValueError("the JSON body is not an object")
        return json.dumps(merge_json(caller, render_body(self.body, context))).encode()


def _encoded(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode()) for name, value in headers]


def _value_source(info: SecretInfo, chain: tuple[str, ...], vault: Vault) -> tuple[str, str | None]:
    """The first environment of `chain` (the environment, then its parents) that has a value or cannot
    decrypt one, with that value; a gap in a feature environment is filled by its parent's value."""
    for environment in chain:
        key = (info.id, environment)
        if key in vault.failures or key in vault.values:
            return environment, vault.values.get(key)
    return chain[0], None


def _slot(placeholder: Placeholder, chain: tuple[str, ...], vault: Vault) -> SecretSlot:
    environment = chain[0]
    info = vault.find(placeholder)
    if info is None:
        message = f"Secret {placeholder} does not exist (environment {environment})."
        return SecretSlot(placeholder, placeholder.arg, None, "secret_missing", message, None, False)
    source, value = _value_source(info, chain, vault)
    problem, message = "", ""
    if (info.id, source) in vault.failures:
        problem = "secret_unavailable"
        message = f"Secret '{info.name}' cannot be decrypted in environment {source}."
    elif value is None:
        problem = "secret_missing"
        message = f"Secret '{info.name}' has no value in environment {environment}."
    return SecretSlot(
        placeholder,
        info.name,
        value,
        problem,
        message,
        info.expires_at,
        info.strict_expiry,
        source if source != environment else "",
    )


@dataclass(frozen=True, slots=True)
class Templates:
    """An effective config's injection templates, parsed: what every environment serving the same
    templates shares, so the route table parses them once per route, not once per environment."""

    headers: tuple[tuple[str, Template], ...] = ()
    body: Any = None
    secrets: tuple[Placeholder, ...] = ()  # the distinct secret placeholders, in order of appearance
    header_placeholders: tuple[tuple[str, tuple[Placeholder, ...]], ...] = ()
    uses_timestamp: bool = False
    uses_request_id: bool = False
    invalid: str = ""  # why the templates cannot be parsed; every call is then refused


def parse_templates(headers_json: Any, body_json: Any) -> Templates | None:
    """The parsed templates of inject_headers_json and inject_body_json, or None when nothing is injected."""
    if not headers_json and not body_json:
        return None
    try:
        headers, body = parse_headers(headers_json), parse_body(body_json) if body_json else None
    except TemplateError as exc:
        return Templates(invalid=str(exc))
    used = set(placeholders((headers, body)))
    return Templates(
        headers,
        body,
        secrets=tuple(secret_placeholders((headers, body))),
        header_placeholders=tuple((name, tuple(placeholders(template))) for name, template in headers),
        uses_timestamp=TIMESTAMP in used,
        uses_request_id=REQUEST_ID in used,
    )


def _refusal(
    slots: tuple[SecretSlot, ...], templates: Templates, values: Mapping[Placeholder, str]
) -> tuple[str, str] | None:
    """The first reason no call can be served: a missing or undecryptable secret, or a header that would
    carry CR, LF or NUL (refused rather than sent, so a header is never split or sent empty)."""
    for slot in slots:
        if slot.problem:
            return slot.problem, slot.message
    for name, used in templates.header_placeholders:
        if any(char in values.get(p, "") for p in used for char in FORBIDDEN_IN_HEADERS):
            return "secret_unavailable", f"Header {name} would contain CR, LF or NUL."
    return None


def bind_injection(
    templates: Templates, environment: str, route_name: str, vault: Vault, parents: tuple[str, ...] = ()
) -> Injection:
    """Parsed templates bound to one environment's values (its own, else its parents', nearest first)."""
    if templates.invalid:
        refusal = ("secret_unavailable", f"Invalid templates: {templates.invalid}")
        return Injection(environment, route_name, refusal=refusal)
    slots = tuple(_slot(p, (environment, *parents), vault) for p in templates.secrets)
    values = {slot.placeholder: slot.value for slot in slots if slot.value is not None}
    values |= {ENVIRONMENT: environment, ROUTE_NAME: route_name}
    refusal = _refusal(slots, templates, values)
    fixed = refusal is None and not templates.uses_timestamp and not templates.uses_request_id
    fixed_context = RenderContext.from_values(values) if fixed else None
    return Injection(
        environment,
        route_name,
        templates.headers,
        templates.body,
        refusal=refusal,
        expiring=tuple((s.expires_at.timestamp(), s) for s in slots if s.expires_at is not None),
        values=values,
        uses_timestamp=templates.uses_timestamp,
        secret_names=tuple(dict.fromkeys(slot.used_as for slot in slots)),
        header_names=frozenset(name.encode("latin-1") for name, _ in templates.headers),
        fixed_context=fixed_context,
        fixed_headers=tuple(_encoded(render_headers(templates.headers, fixed_context))) if fixed else (),
    )


def build_injection(
    config: Mapping[str, Any],
    environment: str,
    route_name: str,
    vault: Vault,
    parents: tuple[str, ...] = (),
) -> Injection | None:
    """The prepared injection of an effective route config, or None when it injects nothing.

    `parents` are the environments whose values fill this one's gaps, nearest first (a feature
    environment's parent chain; the route table leaves protected environments out of it)."""
    templates = parse_templates(config.get("inject_headers_json"), config.get("inject_body_json"))
    return None if templates is None else bind_injection(templates, environment, route_name, vault, parents)
