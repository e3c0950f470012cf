"""`manage.py knoxcall secrets rotate-key`: re-encrypt every secret value under the newest master key.

Rotation: put the new key first in KNOXCALL_MASTER_KEY (keeping the old one after it), run this, then
remove the old key. Values are never printed.
"""

from core.audit import SYSTEM

from .cipher import keyring
from .services import secret_rotate_key


def configure(parser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("rotate-key", help="Re-encrypt every value under the first KNOXCALL_MASTER_KEY key.")


def handle(options: dict, out) -> None:
    if options["action"] == "rotate-key":
        changed = secret_rotate_key(actor=SYSTEM)
        out.write(f"Re-encrypted {changed} value(s) under key {keyring().current_id}.")
