"""Checks on route values that a model field cannot express alone (SSRF rules, HTTP methods)."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from knoxcall.lib.targets import UnsafeTargetError, check_target_url

HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def clean_allowed_methods(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(m, str) for m in value):
        raise ValidationError({"allowed_methods": "Give a list of HTTP methods, e.g. [\"GET\", \"POST\"]."})
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


def clean_route_values(values: dict[str, Any]) -> dict[str, Any]:
    """Normalise the values being written; None (inherit) passes through untouched."""
    cleaned = dict(values)
    if cleaned.get("allowed_methods") is not None:
        cleaned["allowed_methods"] = clean_allowed_methods(cleaned["allowed_methods"])
    if cleaned.get("target_base_url") is not None:
        cleaned["target_base_url"] = clean_target_base_url(cleaned["target_base_url"])
    return cleaned
