"""Many integer pairs in or out in one statement, whatever the database.

The candidate index is read and written a few thousand (key, doc) pairs at a
time. SQLite takes them as an executemany (no round trips: it is in process);
PostgreSQL would pay a round trip per row, so it gets one statement over arrays
(``unnest``). Thousands of values to look up go in one bound parameter on both
(``any_of``): an IN list per 500 values cost a statement each.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Table, bindparam, func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import InstrumentedAttribute, Session


def any_of(
    conn: Connection | Session,
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
    values: Collection[Any],
) -> ColumnElement[bool]:
    """``column IN values``, the values in one bound parameter however many they are:
    an array on PostgreSQL (``= ANY``), a JSON array SQLite unpacks (``json_each``)."""
    if _dialect(conn) == "postgresql":
        return column == bindparam(None, list(values), type_=postgresql.ARRAY(column.type)).any_()
    each = func.json_each(bindparam(None, json.dumps(list(values)))).table_valued("value")
    return column.in_(select(each.c.value))


def int_array(values: Iterable[int]) -> str:
    """Integers as one PostgreSQL array literal, to cast to ``integer[]``: psycopg
    quotes a list's elements one at a time (a regular expression each), and the
    index is written 8,000 integers at a time. (Not for lookups: the planner cannot
    see into a cast parameter, and misjudged the stories' query by 200 times.)"""
    return "{" + ",".join(map(str, values)) + "}"


T = TypeVar("T")
CHUNK = 500  # values per IN list or multi-row statement: well under every driver's limit


def chunks(values: Sequence[T]) -> Iterable[Sequence[T]]:
    """``values`` in slices of ``CHUNK``, in order."""
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


PARTITION = 2_000  # rows fetched at once: a few round trips, never all the rows as objects


def values_by_key(
    conn: Connection | Session, table: Table, key: str, value: str, keys: Sequence[int]
) -> dict[int, list[int]]:
    """The values of ``table``'s rows whose key is in ``keys``, key by key, both in order.

    Ordered: the candidates' order breaks ties between equally close ones. Read a
    partition at a time: tens of thousands of pairs, each as a row and a tuple of
    two ints, were several MB at once.
    """
    column, other = table.c[key], table.c[value]
    query = select(column, other).where(any_of(conn, column, keys)).order_by(column, other)
    found: dict[int, list[int]] = {}
    for rows in conn.execute(query).partitions(PARTITION):
        for k, v in rows:
            found.setdefault(k, []).append(v)
    return found


def add_pairs(
    conn: Connection,
    table: Table,
    key: str,
    value: str,
    pairs: Sequence[tuple[int, int]],
    new: bool = False,
) -> None:
    """Insert (key, value) rows; a row already there is left as it is, unless ``new``
    says none can be (then one is an error): PostgreSQL's check for a conflict made
    a third of the insert's time."""
    if not pairs:
        return
    if _dialect(conn) == "postgresql":
        statement = text(
            f"INSERT INTO {table.name} ({key}, {value}) "  # noqa: S608 (names, not input)
            "SELECT * FROM unnest(CAST(:keys AS integer[]), CAST(:values AS integer[]))"
            + ("" if new else " ON CONFLICT DO NOTHING")
        )
        keys, values = int_array(p[0] for p in pairs), int_array(p[1] for p in pairs)
        conn.execute(statement, {"keys": keys, "values": values})
        return
    # The driver's executemany over the tuples as they are: SQLAlchemy's own made a
    # dict of each row and processed its parameters one by one, for plain integers.
    verb = "INSERT" if new else "INSERT OR IGNORE"
    insert = f"{verb} INTO {table.name} ({key}, {value}) VALUES (?, ?)"
    conn.exec_driver_sql(insert, list(pairs))


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
