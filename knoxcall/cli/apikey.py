"""`manage.py knoxcall apikey create --name NAME --role administrator`: bootstrap a management API key.

The key is printed once and never stored in clear; run it again for another key.
"""

from environments.audit import SYSTEM
from environments.permissions import ROLES
from environments.services import api_key_create


def configure(parser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="Create an API key and print it once.")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--test", action="store_true", help="A tk_test_ key instead of tk_live_.")
    create.add_argument("--no-invoke", action="store_true", help="Management API only: may not call routes.")


def handle(options: dict, out) -> None:
    api_key, raw_key = api_key_create(
        actor=SYSTEM, name=options["name"], role=options["role"], may_invoke=not options["no_invoke"],
        live=not options["test"],
    )
    out.write(f"Created API key '{api_key.name}' ({api_key.role}, id {api_key.pk}). It is shown only now:")
    out.write(raw_key)
