"""A fresh database of either kind for one scenario run, gone afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.conftest import POSTGRES


@contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    """A SQLite file in ``directory``, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'monitor.db'}"
        return
    admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5)
    name = f"monitor_reliability_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES.rsplit('/', 1)[0]}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
