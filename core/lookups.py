"""Lookups by id, slug or name: the one way a path or body names an object, and the one 404 when none."""

import uuid

from django.http import Http404


def as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def found_or_404[T](instance: T | None, message: str) -> T:
    if instance is None:
        raise Http404(message)
    return instance


def small_id(ident: str, max_digits: int = 9) -> int | None:
    """An integer primary key written in ASCII digits, or None ("¹" is a digit to str.isdigit, and a huge
    number is no id: both answer 404, never 500)."""
    if ident.isascii() and ident.isdigit() and len(ident) <= max_digits:
        return int(ident)
    return None
