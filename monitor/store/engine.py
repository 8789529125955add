"""Engines for SQLite (the embedded default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and every transaction that may
write starts with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then
writes fails with "database is locked" at once, whatever the busy timeout, when
another process wrote in between. Read-only work asks for ``readonly=True``.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry

from monitor.core.errors import ConfigError
from monitor.store.checkpoint import Checkpointer

BUSY_TIMEOUT_MS = 60_000
_CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, Checkpointer] = weakref.WeakKeyDictionary()


def normalise_url(url: str) -> str:
    """Plain ``postgresql://`` URLs get the psycopg 3 driver we ship with."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError as exc:
        raise ConfigError(f"database.url: not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed.render_as_string(hide_password=False))
    return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)


def close_engine(engine: Engine) -> None:
    """The engine's connections closed, and its checkpoints done."""
    checkpointer = _CHECKPOINTERS.pop(engine, None)
    if checkpointer is not None:
        checkpointer.close()
    engine.dispose()


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    path = make_url(url).database
    if path and path != ":memory:" and not path.startswith("file:"):
        _checkpoint_in_background(engine, Checkpointer(path))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" event decide how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        readonly = connection.get_execution_options().get("readonly", False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def _checkpoint_in_background(engine: Engine, checkpointer: Checkpointer) -> None:
    """Writers never checkpoint the log: ``checkpointer`` does, after their commits
    (monitor.store.checkpoint says why)."""
    _CHECKPOINTERS[engine] = checkpointer

    @event.listens_for(engine, "connect")
    def _no_checkpoints(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        dbapi_connection.execute("PRAGMA wal_autocheckpoint = 0")

    @event.listens_for(engine, "commit")
    def _committed(connection: Any) -> None:
        if not connection.get_execution_options().get("readonly", False):
            checkpointer.committed()
