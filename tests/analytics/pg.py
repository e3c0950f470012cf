"""A PostgreSQL database unique to the analytics tests and to this checkout, created fresh for each run."""

import hashlib
import socket
from pathlib import Path

import psycopg

PG_HOST, PG_PORT = "127.0.0.1", 5432


def pg_reachable() -> bool:
    try:
        socket.create_connection((PG_HOST, PG_PORT), timeout=1).close()
        return True
    except OSError:
        return False


def ensure_database(name: str) -> str:
    """A new, empty database for this checkout (named apart, so checkouts side by side never share one, and
    recreated, so no schema of an earlier run or another branch is left in it); returns its DATABASE_URL."""
    checkout = hashlib.sha256(str(Path(__file__).resolve().parents[2]).encode()).hexdigest()[:8]
    name = f"{name}_{checkout}"
    with psycopg.connect(f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@{PG_HOST}:{PG_PORT}/{name}"
