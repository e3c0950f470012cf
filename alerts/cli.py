"""`manage.py knoxcall evaluate-alerts`: roll up, then evaluate every enabled rule, as beat's task does."""

from .evaluation import OPENED, RENOTIFIED, RESOLVED, rollup_then_evaluate


def configure(parser) -> None:
    pass


def handle(options: dict, out) -> None:
    outcome = rollup_then_evaluate()
    out.write(
        f"Alerts evaluated: {outcome[OPENED]} opened, {outcome[RENOTIFIED]} re-notified, "
        f"{outcome[RESOLVED]} resolved."
    )
