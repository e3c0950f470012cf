"""`manage.py knoxcall evaluate-alerts`: evaluate every enabled rule now, as the minutely beat task does."""

from .evaluation import OPENED, RENOTIFIED, RESOLVED, evaluate_alerts


def configure(parser) -> None:
    pass


def handle(options: dict, out) -> None:
    outcome = evaluate_alerts()
    out.write(
        f"Alerts evaluated: {outcome[OPENED]} opened, {outcome[RENOTIFIED]} re-notified, "
        f"{outcome[RESOLVED]} resolved."
    )
