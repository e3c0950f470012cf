"""`manage.py knoxcall apikey create --name NAME --role administrator`: bootstrap a management API key.

The key is printed once and never stored in clear; run it again for another key.
"""

from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.audit import SYSTEM
from core.permissions import ROLES
from environments.services import api_key_create


def parse_expiry(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"--expires-at {value!r} is not an ISO 8601 date and time.")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def configure(parser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="Create an API key and print it once.")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--test", action="store_true", help="A tk_test_ key instead of tk_live_.")
    create.add_argument("--no-invoke", action="store_true", help="Management API only: may not call routes.")
    create.add_argument("--expires-at", help="ISO 8601 date and time after which the key stops working.")


def handle(options: dict, out) -> None:
    api_key, raw_key = api_key_create(
        actor=SYSTEM,
        name=options["name"],
        role=options["role"],
        may_invoke=not options["no_invoke"],
        live=not options["test"],
        expires_at=parse_expiry(options.get("expires_at")),
    )
    out.write(f"Created API key '{api_key.name}' ({api_key.role}, id {api_key.pk}). It is shown only now:")
    out.write(raw_key)
