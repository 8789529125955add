"""Storage: SQLAlchemy models, versioned Alembic migrations, one repository.

``Repository`` (``monitor.store.repository``) is composed of one module per kind
of thing stored: feeds, polls, articles, matches, near, alerts, leases, ops.
Only this package imports SQLAlchemy and Alembic; the rest of monitor talks to
it with frozen values from ``monitor.core`` (the polling flow through the
``Store`` protocol below). Its methods raise ``StorageError`` when the database
refuses. The store decides nothing: what an entry is, the exact-copy rules it
is given (``monitor.core.exact.ExactRules``) say.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from monitor.core.errors import StorageError
from monitor.core.types import AddressPolicy, Entry, Feed, IngestCounts, PollUpdate, Sighting


class Store(Protocol):
    def claim_feeds(
        self,
        now: datetime,
        limit: int,
        default: AddressPolicy,
        every: bool = False,
        lease: Callable[[int], float] = ...,
    ) -> list[Feed]:
        """Due feeds, leased to this worker for ``lease(count)`` seconds."""
        ...

    def save_poll(
        self, feed: Feed, update_: PollUpdate, entries: Sequence[Entry]
    ) -> tuple[IngestCounts, list[Sighting]]:
        """Entries and the feed's new state, in one transaction."""
        ...

    def save_polls(
        self, polls: Sequence[tuple[Feed, PollUpdate, Sequence[Entry]]]
    ) -> list[tuple[IngestCounts, list[Sighting]] | StorageError]:
        """Many polls in one transaction; each poll's result, or its own error."""
        ...
