"""Checks on route values that a model field cannot express alone (SSRF rules, HTTP methods, injection)."""

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from environments.models import Environment
from knoxcall.lib.jsonsafe import json_value_problem
from knoxcall.lib.targets import UnsafeTargetError, check_target_url
from secrets_vault.rendering import TemplateError, parse_body, parse_headers, secret_placeholders
from secrets_vault.selectors import missing_references

from .effective import effective_config
from .proxy.headers import GATEWAY_SET_REQUEST, HOP_BY_HOP, KNOXCALL_PREFIX

HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
INJECTION_FIELDS = ("inject_headers_json", "inject_body_json")
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token
CONTROL_CHARACTERS = ("\r", "\n", "\0")


def clean_allowed_methods(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(m, str) for m in value):
        raise ValidationError({"allowed_methods": 'Give a list of HTTP methods, e.g. ["GET", "POST"].'})
    methods = sorted({m.strip().upper() for m in value if m.strip()})
    unknown = [m for m in methods if m not in HTTP_METHODS]
    if unknown:
        raise ValidationError({"allowed_methods": f"Unknown HTTP methods: {', '.join(unknown)}."})
    return methods


def clean_target_base_url(value: str) -> str:
    try:
        return check_target_url(value.strip().rstrip("/"), settings.UPSTREAM_ALLOWED_HOSTS)
    except UnsafeTargetError as exc:
        raise ValidationError({"target_base_url": str(exc)}) from exc


def _refuse_control_characters(text: str, what: str) -> None:
    if any(char in text for char in CONTROL_CHARACTERS):
        raise ValidationError({"inject_headers_json": f"{what} contains CR, LF or NUL: not allowed."})


def _check_header_name(name: str) -> None:
    _refuse_control_characters(name, f"Header name {name!r}")
    lowered = name.strip().lower().encode("latin-1", "replace")
    if not HEADER_NAME_RE.match(name.strip()):
        raise ValidationError({"inject_headers_json": f"{name!r} is not a valid header name."})
    if lowered in HOP_BY_HOP or lowered in GATEWAY_SET_REQUEST or lowered.startswith(KNOXCALL_PREFIX):
        message = f"Header {name} is set by the gateway and cannot be injected."
        raise ValidationError({"inject_headers_json": message})


def _check_storable(value: Any, field: str) -> None:
    # Bounded here, at write time, so whatever is stored can be exported and applied back.
    problem = json_value_problem(value)
    if problem:
        raise ValidationError({field: problem})


def clean_inject_headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValidationError({"inject_headers_json": "Give a JSON object of header name to template."})
    cleaned = {}
    for name, template in value.items():
        _check_header_name(name)
        _refuse_control_characters(template, f"The value of header {name.strip()}")
        cleaned[name.strip()] = template
    _check_storable(cleaned, "inject_headers_json")
    if len({name.lower() for name in cleaned}) != len(cleaned):
        raise ValidationError({"inject_headers_json": "A header is listed twice (case-insensitively)."})
    try:
        parse_headers(cleaned)
    except TemplateError as exc:
        raise ValidationError({"inject_headers_json": str(exc)}) from exc
    return cleaned


def clean_inject_body(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValidationError({"inject_body_json": "Give a JSON object to merge into JSON request bodies."})
    _check_storable(value, "inject_body_json")
    try:
        parse_body(value)
    except TemplateError as exc:
        raise ValidationError({"inject_body_json": str(exc)}) from exc
    return value


def check_secret_references(route, environments: Iterable | None = None) -> None:
    """Refuse templates whose secrets are unknown or lack a value in an environment that uses them.

    Checks the effective templates of `environments` (all of them when None), so a base route is checked
    wherever it is inherited and an override where it applies. `{{secret:NAME}}` of a renamed secret is
    unknown here, while `{{secret_id:UUID}}` keeps working.
    """
    base = {name: getattr(route, name) for name in INJECTION_FIELDS}
    overrides = {o.environment_id: o for o in route.overrides.all()}
    uses = {}
    for environment in environments if environments is not None else Environment.objects.all():
        override = overrides.get(environment.pk)
        values = {name: getattr(override, name) for name in INJECTION_FIELDS} if override else None
        config = effective_config(base, values)
        parsed = (parse_headers(config["inject_headers_json"]), parse_body(config["inject_body_json"] or {}))
        uses[environment.name] = secret_placeholders(parsed)
    problems = missing_references(uses)
    if problems:
        raise ValidationError("Secrets are missing: " + "; ".join(problems) + ".", code="secret_missing")


def clean_route_values(values: dict[str, Any]) -> dict[str, Any]:
    """Normalise the values being written; None (inherit) passes through untouched."""
    cleaned = dict(values)
    if cleaned.get("allowed_methods") is not None:
        cleaned["allowed_methods"] = clean_allowed_methods(cleaned["allowed_methods"])
    if cleaned.get("target_base_url") is not None:
        cleaned["target_base_url"] = clean_target_base_url(cleaned["target_base_url"])
    if cleaned.get("inject_headers_json") is not None:
        cleaned["inject_headers_json"] = clean_inject_headers(cleaned["inject_headers_json"])
    if cleaned.get("inject_body_json") is not None:
        cleaned["inject_body_json"] = clean_inject_body(cleaned["inject_body_json"])
    return cleaned
