"""The benchmarks' databases: PostgreSQL ones made, copied and dropped on the local
server, engines for a monitor URL, and what autovacuum would have done by now."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, text

PG_SERVER = os.environ.get("BENCH_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432")
CHUNK = 5_000  # rows a bench inserts at once when it fills a database


def pg_url(name: str) -> str:
    return f"{PG_SERVER}/{name}"


def pg_admin(statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """One statement on the server's ``postgres`` database, outside a transaction; its rows."""
    import psycopg

    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def pg_exists(name: str) -> bool:
    return bool(pg_admin("SELECT 1 FROM pg_database WHERE datname = %s", (name,)))


def create_pg(name: str) -> str:
    pg_admin(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def drop_pg(name: str) -> None:
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clone_pg(template: str, name: str) -> str:
    """A fresh database, a file copy of the pre-filled one: seconds instead of minutes."""
    drop_pg(name)
    pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return pg_url(name)


def sqlalchemy_url(url: str) -> str:
    """monitor's URL for SQLAlchemy: PostgreSQL through psycopg 3, as monitor opens it."""
    if url.startswith("postgresql://"):
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    return url


def engine_for(url: str, **options: Any) -> Engine:
    return create_engine(sqlalchemy_url(url), **options)


def vacuum_analyze(engine: Engine) -> None:
    """What autovacuum does on its own with rows stored long ago (this machine's
    PostgreSQL has it off): the visibility map and the planner's statistics."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
