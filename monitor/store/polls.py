"""Saving polls: each poll's entries with its feed's new state, in one transaction.

A part of the repository (``Repository`` takes these methods in). A crash leaves
either all of a poll or none of it (and the next poll repeats the work instead
of losing it). What each entry is, the exact-copy rules the repository was
opened with decide (``monitor.store.ingest``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Text, bindparam, func, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from monitor.core.errors import StorageError
from monitor.core.exact import ExactRules
from monitor.core.printable import one_line_or_none
from monitor.core.types import Entry, Feed, IngestCounts, PollUpdate, Sighting
from monitor.store.feeds import FEEDS
from monitor.store.ingest import EntryBatch
from monitor.store.models import UTCDateTime

RETRIES = 3
Poll = tuple[Feed, PollUpdate, Sequence[Entry]]
Saved = tuple[IngestCounts, list[Sighting]]


class PollStorage:
    engine: Engine
    exact: ExactRules | None  # None: a repository that only reads, or saves no entries

    def save_poll(
        self, feed: Feed, update_: PollUpdate, entries: Sequence[Entry]
    ) -> tuple[IngestCounts, list[Sighting]]:
        for attempt in range(1, RETRIES + 1):
            try:
                with self.engine.begin() as conn:
                    return self._save(conn, [(feed, update_, entries)])[0]
            except IntegrityError as exc:
                # Another worker stored one of these keys first: look again.
                if attempt == RETRIES:
                    raise StorageError(
                        f"feed {feed.url}: could not save the poll: {exc.orig}"
                    ) from exc
            except SQLAlchemyError as exc:
                raise StorageError(f"feed {feed.url}: could not save the poll: {exc}") from exc
        raise AssertionError("unreachable")

    def save_polls(self, polls: Sequence[Poll]) -> list[Saved | StorageError]:
        """Many polls in one transaction (one commit for all); when that fails, each alone."""
        if len(polls) > 1:
            try:
                with self.engine.begin() as conn:
                    saved: list[Saved | StorageError] = [*self._save(conn, polls)]
                return saved
            except SQLAlchemyError:
                pass  # one of them is at fault, or a race: retry them one by one
        results: list[Saved | StorageError] = []
        for poll in polls:
            try:
                results.append(self.save_poll(*poll))
            except StorageError as exc:
                results.append(exc)
        return results

    def _save(self, conn: Connection, polls: Sequence[Poll]) -> list[Saved]:
        """The polls' entries, then every feed's new state in one statement."""
        batches = []
        for feed, update_, entries in polls:
            batch = EntryBatch(feed.id, update_.polled_at)
            if entries:
                batch.run(conn, entries, self._rules())
            batches.append(batch)
        _write_feed_states(
            conn,
            [(poll[1], batch.counts.new > 0) for poll, batch in zip(polls, batches, strict=True)],
        )
        return [(batch.counts, batch.sightings) for batch in batches]

    def _rules(self) -> ExactRules:
        if self.exact is None:
            # A wiring mistake, not the database's: say where the rules come from.
            raise TypeError(
                "saving entries needs Repository(exact=monitor.dedup.decide.EXACT_COPIES)"
            )
        return self.exact


# One Core statement for every feed-state write, built once (its cache key is
# memoised) and run as one executemany per transaction: a poll that changed
# nothing (HTTP 304) costs a parameter set, not an ORM statement of its own.
# NULL in the coalesced parameters leaves the column as it was.
_WRITE_STATE = (
    update(FEEDS)
    .where(FEEDS.c.id == bindparam("p_id"))
    .values(
        status=bindparam("p_status"),
        http_status=bindparam("p_http_status"),
        last_error=bindparam("p_error"),
        error_count=bindparam("p_error_count"),
        last_polled_at=bindparam("p_polled_at"),
        next_poll_at=bindparam("p_next_poll_at"),
        etag=bindparam("p_etag"),
        last_modified=bindparam("p_last_modified"),
        active=bindparam("p_active"),
        url=func.coalesce(bindparam("p_new_url", type_=Text), FEEDS.c.url),
        last_new_at=func.coalesce(
            bindparam("p_last_new_at", type_=UTCDateTime), FEEDS.c.last_new_at
        ),
        # A title from the feed never replaces one the user gave.
        title=func.coalesce(FEEDS.c.title, bindparam("p_title", type_=Text)),
        lease_until=None,  # polled: the lease ends with the save
    )
)


def _write_feed_states(conn: Connection, states: Sequence[tuple[PollUpdate, bool]]) -> None:
    """Each polled feed's new state; ``True`` with a poll that stored new articles."""
    if states:
        conn.execute(_WRITE_STATE, [_state_params(u, has_new) for u, has_new in states])


def _state_params(u: PollUpdate, has_new: bool) -> dict[str, Any]:
    return {
        "p_id": u.feed_id,
        "p_status": u.status,
        "p_http_status": u.http_status,
        "p_error": one_line_or_none(u.error),  # often the server's words: no terminal escapes
        "p_error_count": u.error_count,
        "p_polled_at": u.polled_at,
        "p_next_poll_at": u.next_poll_at,
        "p_etag": u.etag,
        "p_last_modified": u.last_modified,
        "p_active": u.active,
        "p_new_url": u.new_url or None,
        "p_last_new_at": u.polled_at if has_new else None,
        "p_title": u.title or None,
    }
