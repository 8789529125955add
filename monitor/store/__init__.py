"""Storage: SQLAlchemy models, versioned Alembic migrations, one repository.

Only this package imports SQLAlchemy and Alembic; the rest of monitor talks to
the ``Store`` protocol with frozen values from ``monitor.core.types``. Its methods
raise ``StorageError`` when the database refuses.
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
