"""`manage.py knoxcall apply FILE [--dry-run]`: print the diff, then apply it atomically and audited."""

from pathlib import Path

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError

from core.audit import Actor
from core.permissions import ADMINISTRATOR

from .apply import apply_plan
from .document import load, plan


def configure(parser) -> None:
    parser.add_argument("file", help="A YAML file written by `knoxcall export` (or by hand).")
    parser.add_argument("--dry-run", action="store_true", help="Print the changes only.")


def handle(options: dict, out) -> None:
    path = Path(options["file"])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"Cannot read {path}: {exc.strerror}") from None
    changes = plan(load(text))
    for change in changes:
        out.write(change.describe())
    if not changes:
        out.write("No changes: the configuration already matches.")
        return
    if options.get("dry_run"):
        out.write(f"Dry run: {len(changes)} change(s) not applied.")
        return
    actor = Actor(label=f"config-apply:{path.name}", role=ADMINISTRATOR)
    try:
        apply_plan(changes, actor)
    except (ValidationError, PermissionDenied, ObjectDoesNotExist) as exc:
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        raise ValueError(f"Nothing was applied: {message}") from exc
    out.write(f"Applied {len(changes)} change(s).")
