"""A PostgreSQL database of a benchmark's own: created empty, dropped afterwards, so a bench never touches
anyone's data and leaves nothing behind.

    with scratch_database("postgres://postgres@127.0.0.1:5432/knoxcall_bench_logs") as url: ...
"""

import contextlib
import os
from collections.abc import Iterator

DEFAULT_SERVER = os.environ.get("KNOXCALL_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")


def _admin(url: str):
    import psycopg

    server = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://", 1)
    return psycopg.connect(f"{server}/postgres", autocommit=True)


@contextlib.contextmanager
def scratch_database(url: str, reuse: bool = False) -> Iterator[str]:
    """`reuse` takes the database as a previous run kept it (a bench's --keep)."""
    name = url.rsplit("/", 1)[1]
    with _admin(url) as conn:
        if not reuse:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url
    finally:
        with _admin(url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
