"""`manage.py knoxcall <subcommand>`: the project's own command line.

Each subcommand is a module with `configure(parser)` and `handle(options, out)`; they live next to the
code they drive and are listed here, the one place that wires them together.
"""

from importlib import import_module

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

SUBCOMMANDS = {
    "run": ("knoxcall.cli.run", "Migrate, load the demo and serve console, proxy, worker and beat."),
    "serve": (
        "knoxcall.cli.serve",
        "Production: serve console and proxy in N processes (--workers, KNOXCALL_WORKERS).",
    ),
    "demo": ("knoxcall.cli.demo", "Load the demo environments, route and upstream configuration."),
    "evaluate-alerts": ("alerts.cli", "Evaluate every enabled alert rule now and send what is due."),
    "secrets": ("secrets_vault.cli", "Secrets vault operations: rotate-key."),
    "apikey": ("knoxcall.cli.apikey", "Create an API key, printed once (bootstraps the management API)."),
    "rollup": ("analytics.cli", "Fold pending request logs into per-minute metric buckets now."),
    "export": ("configuration.cli_export", "Write the configuration as YAML (secrets by name, not values)."),
    "apply": ("configuration.cli_apply", "Apply a configuration YAML: print the diff, apply it atomically."),
}


class Command(BaseCommand):
    help = "KnoxCall operations: " + ", ".join(SUBCOMMANDS)

    def add_arguments(self, parser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", required=True, parser_class=type(parser))
        for name, (module, help_text) in SUBCOMMANDS.items():
            sub = subparsers.add_parser(name, help=help_text, called_from_command_line=True)
            import_module(module).configure(sub)

    def handle(self, *args, subcommand: str, **options) -> None:
        module = import_module(SUBCOMMANDS[subcommand][0])
        try:
            module.handle(options, self.stdout)
        except ValidationError as exc:  # a service's refusal: the reason, not a traceback
            raise CommandError(" ".join(_messages(exc))) from exc
        except (ValueError, PermissionDenied) as exc:
            raise CommandError(str(exc)) from exc


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [
            f"{field}: {message}" for field, messages in error.message_dict.items() for message in messages
        ]
    return list(error.messages)
