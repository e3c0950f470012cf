"""The two steps every service update shares: refuse fields it does not know, then set, check and save.

One place for both, so every service answers an unknown keyword the same way (a ValidationError naming the
fields, never a silently ignored value) and validates before it saves.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


def refuse_unknown_fields(given: Iterable[str], allowed: Iterable[str], what: str) -> None:
    """Raise a ValidationError naming every field of `given` that is not in `allowed`."""
    unknown = set(given) - set(allowed)
    if unknown:
        raise ValidationError(f"Unknown or read-only {what} fields: {', '.join(sorted(unknown))}.")


def apply_fields[M: models.Model](
    instance: M,
    fields: Mapping[str, Any],
    *,
    validate: Callable[[M], None] | None = None,
    save: bool = True,
) -> M:
    """Set `fields` on `instance`, validate it (full_clean unless `validate` says how) and save it.

    `save=False` is for a caller that decides afterwards whether the row is kept at all.
    """
    for name, value in fields.items():
        setattr(instance, name, value)
    if validate is None:
        instance.full_clean()
    else:
        validate(instance)
    if save:
        instance.save()
    return instance
