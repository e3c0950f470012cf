"""`manage.py knoxcall export [--output FILE]`: the configuration as YAML (secrets by name only)."""

from pathlib import Path

from .document import dump, export_config


def configure(parser) -> None:
    parser.add_argument("--output", "-o", help="Write to this file instead of standard output.")


def handle(options: dict, out) -> None:
    text = dump(export_config())
    if options.get("output"):
        Path(options["output"]).write_text(text, encoding="utf-8")
        out.write(f"Wrote {options['output']}.")
    else:
        out.write(text, ending="")
