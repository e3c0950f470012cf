"""`manage.py knoxcall rollup`: fold pending request logs into metric buckets now (and optionally purge)."""

from .rollup import purge, rollup


def configure(parser) -> None:
    parser.add_argument("--purge", action="store_true", help="Also delete logs past the retention period.")


def handle(options: dict, out) -> None:
    result = rollup()
    out.write(f"Rolled up {result.rows} request logs into {result.buckets} bucket updates.")
    if options.get("purge"):
        out.write(f"Purged {purge()} request logs past retention.")
