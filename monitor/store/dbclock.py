"""The database's clock, for leases: every worker compares with one clock, whatever its own says.

Naive UTC on both databases, as every stored time (SQLite as text, to the second).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func


def now(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.timezone("UTC", func.now())
    return func.datetime("now")


def later(dialect: str, seconds: float) -> Any:
    if dialect == "postgresql":
        return func.timezone("UTC", func.now()) + timedelta(seconds=seconds)
    return func.datetime("now", f"{round(seconds):+d} seconds")


def expired(column: Any, dialect: str) -> Any:
    """The lease is free: never taken, or past its time."""
    return column.is_(None) | (column < now(dialect))
