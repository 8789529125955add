"""The feeds followed: declaring, listing and stopping them, and claiming the due ones.

A part of the repository (``Repository`` takes these methods in). A feed's state
after a poll is written with the poll (``monitor.store.polls``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.core.addresses import to_policy
from monitor.core.errors import StorageError
from monitor.core.types import AddressPolicy, Feed, FeedInfo, FeedSpec
from monitor.store import dbclock
from monitor.store.models import ArticleRow, FeedRow
from monitor.text.plain import digest

FEEDS = FeedRow.metadata.tables[FeedRow.__tablename__]
_FEED_COLUMNS = (
    "id",
    "url",
    "title",
    "etag",
    "last_modified",
    "interval_s",
    "error_count",
    "allow_private",
    "local",
)


def source_key(url: str) -> str:
    """The feeds table's unique key for a URL as declared (URLs are too long to index)."""
    return digest("feed", url)


class FeedStorage:
    engine: Engine
    _reader: Engine

    def sync_config_feeds(self, specs: Sequence[FeedSpec], now: datetime) -> None:
        """Declared feeds exist and are active; feeds dropped from the file stop."""
        keys = {source_key(spec.url) for spec in specs}
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Workers starting together: one writes the list, the others then find it.
                conn.execute(text("SELECT pg_advisory_xact_lock(7261135)"))
            for spec in specs:
                _upsert(conn, spec, "config", now)
            conn.execute(
                update(FeedRow)
                .where(FeedRow.origin == "config", FeedRow.source_key.not_in(keys))
                .values(active=False)
            )

    def add_feed(self, spec: FeedSpec, origin: str, now: datetime) -> bool:
        """True when the feed is new or was inactive; False when already followed."""
        with self.engine.begin() as conn:
            return _upsert(conn, spec, origin, now)

    def remove_feed(self, url: str) -> FeedInfo | None:
        """Stop following a feed; its articles stay in the corpus."""
        info = self.find_feed(url)
        if info is not None:
            with self.engine.begin() as conn:
                conn.execute(update(FeedRow).where(FeedRow.id == info.id).values(active=False))
        return info

    def find_feed(self, url: str) -> FeedInfo | None:
        matches = [f for f in self.feeds(include_inactive=True) if url in (f.url, f.source_url)]
        return matches[0] if matches else None

    def feeds(self, include_inactive: bool = False) -> list[FeedInfo]:
        counts = (
            select(ArticleRow.feed_id, func.count().label("n"))
            .group_by(ArticleRow.feed_id)
            .subquery()
        )
        query = (
            select(FeedRow, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.feed_id == FeedRow.id)
            .order_by(FeedRow.id)
        )
        if not include_inactive:
            query = query.where(FeedRow.active)
        with Session(self._reader) as conn:
            return [_feed_info(row, n) for row, n in conn.execute(query).all()]

    def due_feeds(
        self, now: datetime, limit: int, default: AddressPolicy, every: bool = False
    ) -> list[Feed]:
        # Core rows of the columns a poll needs: no ORM objects for every feed.
        c = FEEDS.c
        query = (
            select(*(c[name] for name in _FEED_COLUMNS))
            .where(c.active)
            .order_by(c.next_poll_at.is_not(None), c.next_poll_at, c.id)
            .limit(limit)
        )
        if not every:
            query = query.where(or_(c.next_poll_at.is_(None), c.next_poll_at <= now))
        with self._reader.connect() as conn:
            return [_feed(row, default) for row in conn.execute(query)]

    def claim_feeds(
        self,
        now: datetime,
        limit: int,
        default: AddressPolicy,
        every: bool = False,
        lease: Callable[[int], float] = lambda n: 300.0,
    ) -> list[Feed]:
        """Due feeds, leased to this worker for ``lease(count)`` seconds of the database clock.

        Other workers skip them (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
        writes one at a time); saving a poll ends its feed's lease. No row lock is
        held once this returns: the fetches happen outside any transaction.
        """
        c = FEEDS.c
        dialect = self.engine.dialect.name
        due = (
            select(c.id)
            .where(c.active, dbclock.expired(c.lease_until, dialect))
            .order_by(c.next_poll_at.is_not(None), c.next_poll_at, c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if not every:
            due = due.where(or_(c.next_poll_at.is_(None), c.next_poll_at <= now))
        try:
            with self.engine.begin() as conn:
                ids = list(conn.execute(due).scalars())
                if not ids:
                    return []
                claimed = conn.execute(
                    update(FEEDS)
                    .where(c.id.in_(ids))
                    .values(
                        lease_until=dbclock.later(dialect, lease(len(ids))),
                        leased_at=dbclock.now(dialect),
                    )
                    .returning(*(c[name] for name in _FEED_COLUMNS))
                )
                feeds = [_feed(row, default) for row in claimed]
        except SQLAlchemyError as exc:
            raise StorageError(f"could not claim due feeds: {exc}") from exc
        order = {feed_id: i for i, feed_id in enumerate(ids)}
        return sorted(feeds, key=lambda f: order[f.id])


def _upsert(conn: Connection, spec: FeedSpec, origin: str, now: datetime) -> bool:
    key = source_key(spec.url)
    row = conn.execute(
        select(FeedRow.id, FeedRow.active, FeedRow.origin).where(FeedRow.source_key == key)
    ).first()
    values: dict[str, Any] = {
        "interval_s": spec.interval_s,
        "allow_private": None if spec.allow_private is None else json.dumps(spec.allow_private),
        "local": spec.local,
        "active": True,
    }
    if spec.title:  # none given: the title taken from the feed stays
        values["title"] = spec.title
    if row is None:
        conn.execute(
            insert(FeedRow).values(
                source_key=key,
                source_url=spec.url,
                url=spec.url,
                origin=origin,
                created_at=now,
                status="new",
                error_count=0,
                **values,
            )
        )
        return True
    if origin != "config" and row.origin == "config":
        return False
    if origin == "config" or not row.active:
        conn.execute(update(FeedRow).where(FeedRow.id == row.id).values(origin=origin, **values))
    return not row.active


def _feed(row: Row[Any], default: AddressPolicy) -> Feed:
    # The feed's own choice (kept as it was written), else everyone's.
    override = json.loads(row.allow_private) if row.allow_private else None
    policy = (
        default
        if override is None
        else to_policy(override if isinstance(override, bool) else list(override))
    )
    return Feed(
        id=row.id,
        url=row.url,
        title=row.title,
        etag=row.etag,
        last_modified=row.last_modified,
        interval_s=row.interval_s,
        error_count=row.error_count,
        policy=policy,
        local=row.local,
    )


def _feed_info(row: FeedRow, articles: int) -> FeedInfo:
    return FeedInfo(
        id=row.id,
        url=row.url,
        source_url=row.source_url,
        title=row.title,
        origin=row.origin,
        local=row.local,
        active=row.active,
        status=row.status,
        http_status=row.http_status,
        last_error=row.last_error,
        error_count=row.error_count,
        last_polled_at=row.last_polled_at,
        last_new_at=row.last_new_at,
        next_poll_at=row.next_poll_at,
        articles=articles,
    )
