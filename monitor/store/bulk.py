"""Many integer pairs in or out in one statement, whatever the database.

The candidate index is read and written a few thousand (key, doc) pairs at a
time. SQLite takes them as an executemany (no round trips: it is in process)
and IN lists; PostgreSQL would pay a round trip per row or per 500 keys, so it
gets one statement over arrays (``unnest``, ``= ANY``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Table, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

IN_LIST = 500  # SQLite's IN lists are cut to this many values


def pairs_with(
    conn: Connection | Session, table: Table, key: str, value: str, keys: Sequence[int]
) -> list[tuple[int, int]]:
    """Every (key, value) row of ``table`` whose key is in ``keys``."""
    column, other = table.c[key], table.c[value]
    if _dialect(conn) == "postgresql":
        wanted = bindparam("wanted", list(keys), type_=postgresql.ARRAY(column.type))
        query = select(column, other).where(column == wanted.any_())
        return [(k, v) for k, v in conn.execute(query)]
    found: list[tuple[int, int]] = []
    for start in range(0, len(keys), IN_LIST):
        query = select(column, other).where(column.in_(keys[start : start + IN_LIST]))
        found.extend((k, v) for k, v in conn.execute(query))
    return found


def add_pairs(
    conn: Connection, table: Table, key: str, value: str, pairs: Sequence[tuple[int, int]]
) -> None:
    """Insert (key, value) rows; a row already there is left as it is."""
    if not pairs:
        return
    if _dialect(conn) == "postgresql":
        statement = text(
            f"INSERT INTO {table.name} ({key}, {value}) "  # noqa: S608 (names, not input)
            "SELECT * FROM unnest(CAST(:keys AS integer[]), CAST(:values AS integer[])) "
            "ON CONFLICT DO NOTHING"
        )
        conn.execute(statement, {"keys": [p[0] for p in pairs], "values": [p[1] for p in pairs]})
        return
    rows = [{key: k, value: v} for k, v in pairs]
    conn.execute(sqlite.insert(table).on_conflict_do_nothing(), rows)


def _dialect(conn: Connection | Session) -> str:
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    return bind.dialect.name


def lock_articles(conn: Connection, ids: Sequence[str]) -> None:
    """Take the articles' row locks in id order before updating them (PostgreSQL).

    Stages on different workers update overlapping articles (the near stage sets
    ``near_at``, the match stage ``matched_at``); taking the locks in one order
    makes them wait for each other instead of deadlocking. SQLite has one writer.
    """
    if _dialect(conn) != "postgresql" or not ids:
        return
    conn.execute(
        text("SELECT id FROM articles WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"),
        {"ids": sorted(set(ids))},
    )
