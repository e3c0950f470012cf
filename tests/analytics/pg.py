"""A PostgreSQL database unique to the analytics tests, created on demand."""

import socket

import psycopg

PG_HOST, PG_PORT = "127.0.0.1", 5432


def pg_reachable() -> bool:
    try:
        socket.create_connection((PG_HOST, PG_PORT), timeout=1).close()
        return True
    except OSError:
        return False


def ensure_database(name: str) -> str:
    """Create `name` if missing; returns its DATABASE_URL."""
    with psycopg.connect(f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@{PG_HOST}:{PG_PORT}/{name}"
