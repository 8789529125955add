"""The one place that reads and writes the database.

Each poll of a feed is saved in one transaction: its articles, copies and
fingerprints together with the feed's new state, so a crash leaves either all
of it or none (and the next poll repeats the work instead of losing it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Text,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.core.errors import StorageError
from monitor.core.printable import one_line_or_none
from monitor.core.types import (
    AddressPolicy,
    Entry,
    Feed,
    FeedInfo,
    FeedSpec,
    IngestCounts,
    PollUpdate,
    Sighting,
)
from monitor.dedup.keys import (
    EntryKeys,
    Stored,
    Verdict,
    classify,
    keys_for,
    own_keys,
    predates,
    with_hashes,
)
from monitor.fetch.netguard import to_policy
from monitor.store import dbclock, schema
from monitor.store.alerts import AlertStorage
from monitor.store.engine import close_engine, make_engine
from monitor.store.leases import LeaseStorage
from monitor.store.matches import MatchStorage
from monitor.store.models import ArticleRow, CopyRow, FeedRow, FingerprintRow, UTCDateTime
from monitor.store.near import NearStorage, refile_keys_of
from monitor.store.ops import OpsStorage
from monitor.text.plain import digest

CHUNK = 500
RETRIES = 3
Poll = tuple[Feed, PollUpdate, Sequence[Entry]]
Saved = tuple[IngestCounts, list[Sighting]]
_FEEDS = FeedRow.metadata.tables[FeedRow.__tablename__]
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
    return digest("feed", url)


class Repository(MatchStorage, NearStorage, AlertStorage, LeaseStorage, OpsStorage):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = engine.execution_options(readonly=True)

    @classmethod
    def open(cls, url: str) -> Repository:
        engine = make_engine(url)
        try:
            schema.upgrade(engine)
        except OperationalError as exc:
            close_engine(engine)
            raise StorageError(f"cannot open the database {engine.url!r}: {exc.orig}") from exc
        except BaseException:
            close_engine(engine)
            raise
        return cls(engine)

    def close(self) -> None:
        close_engine(self.engine)

    # Feeds ---------------------------------------------------------------

    def sync_config_feeds(self, specs: Sequence[FeedSpec], now: datetime) -> None:
        """Declared feeds exist and are active; feeds dropped from the file stop."""
        keys = {source_key(spec.url) for spec in specs}
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Workers starting together: one writes the list, the others then find it.
                conn.execute(text("SELECT pg_advisory_xact_lock(7261135)"))
            for spec in specs:
                self._upsert(conn, spec, "config", now)
            conn.execute(
                update(FeedRow)
                .where(FeedRow.origin == "config", FeedRow.source_key.not_in(keys))
                .values(active=False)
            )

    def add_feed(self, spec: FeedSpec, origin: str, now: datetime) -> bool:
        """True when the feed is new or was inactive; False when already followed."""
        with self.engine.begin() as conn:
            return self._upsert(conn, spec, origin, now)

    def _upsert(self, conn: Connection, spec: FeedSpec, origin: str, now: datetime) -> bool:
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
            conn.execute(
                update(FeedRow).where(FeedRow.id == row.id).values(origin=origin, **values)
            )
        return not row.active

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
        with self._read() as conn:
            return [_feed_info(row, n) for row, n in conn.execute(query).all()]

    def due_feeds(
        self, now: datetime, limit: int, default: AddressPolicy, every: bool = False
    ) -> list[Feed]:
        # Core rows of the columns a poll needs: no ORM objects for every feed.
        c = _FEEDS.c
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
        c = _FEEDS.c
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
                    update(_FEEDS)
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

    # Polls -----------------------------------------------------------------

    def save_poll(
        self, feed: Feed, update_: PollUpdate, entries: Sequence[Entry]
    ) -> tuple[IngestCounts, list[Sighting]]:
        for attempt in range(1, RETRIES + 1):
            try:
                with self.engine.begin() as conn:
                    return _save(conn, [(feed, update_, entries)])[0]
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
                    saved: list[Saved | StorageError] = [*_save(conn, polls)]
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

    # Articles ----------------------------------------------------------------

    def export_articles(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        query = (
            select(ArticleRow, FeedRow.url)
            .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
            .order_by(ArticleRow.first_seen_at, ArticleRow.id)
        )
        if since is not None:
            query = query.where(ArticleRow.first_seen_at >= since)
        with self._read() as conn:
            rows = conn.execute(query).all()
            copies = _copies_by_article(conn, [row[0].id for row in rows])
        matches = self.matches_of([row[0].id for row in rows])
        for article, feed_url in rows:
            found = _article_json(article, feed_url, copies.get(article.id, []))
            yield found | {"matches": matches.get(article.id, [])}

    def delete_article(self, article_id: str) -> bool:
        """Delete an article; its fingerprints stay as tombstones so it never returns."""
        with self.engine.begin() as conn:
            conn.execute(
                update(FingerprintRow)
                .where(FingerprintRow.article_id == article_id)
                .values(article_id=None)
            )
            conn.execute(delete(CopyRow).where(CopyRow.article_id == article_id))
            refile_keys_of(conn, article_id)
            return conn.execute(delete(ArticleRow).where(ArticleRow.id == article_id)).rowcount > 0

    def count_articles(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(ArticleRow)).scalar_one())

    def _read(self) -> Session:
        return Session(self._reader)


def _save(conn: Connection, polls: Sequence[Poll]) -> list[Saved]:
    """The polls' entries, then every feed's new state in one statement."""
    batches = []
    for feed, update_, entries in polls:
        batch = _Batch(feed.id, update_.polled_at)
        if entries:
            batch.run(conn, entries)
        batches.append(batch)
    _write_feed_states(
        conn, [(poll[1], batch.counts.new > 0) for poll, batch in zip(polls, batches, strict=True)]
    )
    return [(batch.counts, batch.sightings) for batch in batches]


@dataclass
class _Batch:
    """The entries of one poll, classified and written in the caller's transaction."""

    feed_id: int
    now: datetime
    counts: IngestCounts = field(default_factory=IngestCounts)
    sightings: list[Sighting] = field(default_factory=list)
    known: dict[str, str | None] = field(default_factory=dict)
    stored: dict[str, Stored] = field(default_factory=dict)
    # Articles this poll's entries turned out to be, with the entry that did.
    taken: dict[str, str] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)  # articles this poll adds
    articles: list[dict[str, Any]] = field(default_factory=list)
    copies: list[dict[str, Any]] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)

    def run(self, conn: Connection, entries: Sequence[Entry]) -> None:
        keys = keys_for(self.feed_id, entries)
        self._look_up(conn, keys)
        for entry, entry_keys in zip(entries, keys, strict=True):
            verdict = classify(entry_keys, self.known, self.stored, self.taken)
            self._apply(conn, entry, entry_keys, verdict)
            self.taken.setdefault(verdict.article_id, entry_keys.entry_fp)
        _insert(conn, ArticleRow, self.articles)
        _insert(
            conn,
            FingerprintRow,
            [
                {"fp": fp, "article_id": aid, "created_at": self.now}
                for fp, aid in self.fingerprints.items()
            ],
        )
        _insert(conn, CopyRow, self.copies)

    def _look_up(self, conn: Connection, keys: list[EntryKeys]) -> None:
        wanted = [k for entry_keys in keys for k in entry_keys.all()]
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            rows = conn.execute(
                select(FingerprintRow.fp, FingerprintRow.article_id).where(
                    FingerprintRow.fp.in_(chunk)
                )
            )
            self.known.update(dict(rows.all()))
        ids = [aid for aid in self.known.values() if aid]
        for start in range(0, len(ids), CHUNK):
            rows = conn.execute(
                select(
                    ArticleRow.id,
                    ArticleRow.entry_fp,
                    ArticleRow.text_fp,
                    ArticleRow.canonical_url,
                    ArticleRow.published_at,
                ).where(ArticleRow.id.in_(ids[start : start + CHUNK]))
            )
            for row in rows:
                self.stored[row.id] = Stored(
                    row.entry_fp, row.text_fp, row.canonical_url, row.published_at
                )

    def _apply(self, conn: Connection, entry: Entry, keys: EntryKeys, verdict: Verdict) -> None:
        kind: str = verdict.kind
        self.counts = self.counts + IngestCounts(**{_COUNTER[kind]: 1})
        if kind == "copy" and self._is_original(keys, verdict):
            self._take_over(conn, entry, keys, verdict)
            kind = "original"
        elif kind == "new":
            self.articles.append(_article_values(self.feed_id, entry, keys, verdict, self.now))
            self._remember(verdict.article_id, verdict.identity.own, keys.url, keys.text)
            self.stored[verdict.article_id] = _stored(keys)
            self.created.add(verdict.article_id)
        elif kind == "update":
            conn.execute(
                update(ArticleRow)
                .where(ArticleRow.id == verdict.article_id)
                .values(
                    **_changed_values(entry, keys, self.now),
                    update_count=ArticleRow.update_count + 1,
                )
            )
            self._remember(verdict.article_id, keys.url, keys.text)
            self.stored[verdict.article_id] = _stored(keys)
        elif kind == "copy":
            self.copies.append(
                {
                    "article_id": verdict.article_id,
                    "feed_id": self.feed_id,
                    "guid": entry.guid,
                    "url": entry.url,
                    "title": entry.title,
                    "reason": verdict.reason,
                    "seen_at": self.now,
                }
            )
            self._remember(verdict.article_id, verdict.identity.copy)
        if kind in ("new", "update", "copy", "original"):
            self.sightings.append(Sighting(kind, verdict.article_id, entry.title, verdict.reason))

    def _is_original(self, keys: EntryKeys, verdict: Verdict) -> bool:
        holder = self.stored.get(verdict.article_id)
        # An article of this very poll is not written yet: it stays the original.
        fresh = verdict.article_id in self.created
        return holder is not None and not fresh and predates(keys, holder, self.now)

    def _take_over(self, conn: Connection, entry: Entry, keys: EntryKeys, verdict: Verdict) -> None:
        """This entry is the article's original: it takes the article's place (its id,
        matches, alerts and story stay), and the entry that held it becomes its link."""
        article = verdict.article_id
        old = conn.execute(select(*_HELD).where(ArticleRow.id == article)).one()
        self.copies.append(
            {
                "article_id": article,
                "feed_id": old.feed_id,
                "guid": old.guid,
                "url": old.url,
                "title": old.title,
                "reason": verdict.reason,
                "seen_at": old.first_seen_at,
            }
        )
        self._demote(conn, article, old)
        conn.execute(
            update(ArticleRow)
            .where(ArticleRow.id == article)
            .values(
                feed_id=self.feed_id,
                guid=entry.guid,
                published_at=entry.published,
                date_from_feed=True,
                **_changed_values(entry, keys, self.now),
            )
        )
        self._remember(article, verdict.identity.own, keys.url, keys.text)
        self.stored[article] = _stored(keys)

    def _demote(self, conn: Connection, article: str, old: Any) -> None:
        """The old holder's own keys in its feed become its keys as a copy: its next
        poll finds the link, not an article to update back."""
        held = with_hashes(_entry_of(old))
        pairs = dict(own_keys(old.feed_id, held))
        owned = set(
            conn.execute(
                select(FingerprintRow.fp).where(
                    FingerprintRow.article_id == article, FingerprintRow.fp.in_(pairs)
                )
            ).scalars()
        )
        if not owned:
            return
        conn.execute(delete(FingerprintRow).where(FingerprintRow.fp.in_(owned)))
        copies = [pairs[fp] for fp in owned]
        existing = conn.execute(select(FingerprintRow.fp).where(FingerprintRow.fp.in_(copies)))
        self.known.update(dict.fromkeys(existing.scalars(), article))
        for fp in owned:
            self.known.pop(fp, None)
        self._remember(article, *copies)

    def _remember(self, article_id: str, *fps: str | None) -> None:
        for fp in fps:
            if fp and fp not in self.known:
                self.known[fp] = article_id
                self.fingerprints[fp] = article_id


_COUNTER = {
    "new": "new",
    "update": "updated",
    "copy": "duplicates",
    "unchanged": "unchanged",
    "tombstoned": "tombstoned",
}


def _stored(keys: EntryKeys) -> Stored:
    return Stored(keys.entry_fp, keys.text, keys.canonical_url, keys.published)


# What taking an article's place needs of the entry that held it.
_HELD = (
    ArticleRow.feed_id,
    ArticleRow.guid,
    ArticleRow.url,
    ArticleRow.canonical_url,
    ArticleRow.title,
    ArticleRow.summary,
    ArticleRow.content,
    ArticleRow.authors,
    ArticleRow.language,
    ArticleRow.published_at,
    ArticleRow.date_from_feed,
    ArticleRow.first_seen_at,
)


def _entry_of(row: Any) -> Entry:
    """A stored article as the entry it was saved from (for its keys)."""
    return Entry(
        guid=row.guid,
        url=row.url,
        canonical_url=row.canonical_url,
        title=row.title,
        summary=row.summary,
        content=row.content,
        authors=tuple(json.loads(row.authors)),
        language=row.language,
        published=row.published_at if row.date_from_feed else None,
    )


def _insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(table), rows)


def _changed_values(entry: Entry, keys: EntryKeys, now: datetime) -> dict[str, Any]:
    return {
        "url": entry.url,
        "canonical_url": entry.canonical_url,
        "title": entry.title,
        "summary": entry.summary,
        "content": entry.content,
        "authors": json.dumps(list(entry.authors)),
        "language": entry.language,
        "text_fp": keys.text,
        "entry_fp": keys.entry_fp,
        "updated_at": now,
        "matched_at": None,  # new text: ask the watchlists again
        "near_at": None,  # and sketch it again
    }


def _article_values(
    feed_id: int, entry: Entry, keys: EntryKeys, verdict: Verdict, now: datetime
) -> dict[str, Any]:
    return {
        "id": verdict.article_id,
        "feed_id": feed_id,
        "guid": entry.guid,
        "published_at": entry.published or now,
        "date_from_feed": entry.published is not None,
        "first_seen_at": now,
        "update_count": 0,
        "duplicate_of": None,
        **_changed_values(entry, keys, now),
    }


# One Core statement for every feed-state write, built once (its cache key is
# memoised) and run as one executemany per transaction: a poll that changed
# nothing (HTTP 304) costs a parameter set, not an ORM statement of its own.
# NULL in the coalesced parameters leaves the column as it was.
_WRITE_STATE = (
    update(_FEEDS)
    .where(_FEEDS.c.id == bindparam("p_id"))
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
        url=func.coalesce(bindparam("p_new_url", type_=Text), _FEEDS.c.url),
        last_new_at=func.coalesce(
            bindparam("p_last_new_at", type_=UTCDateTime), _FEEDS.c.last_new_at
        ),
        # A title from the feed never replaces one the user gave.
        title=func.coalesce(_FEEDS.c.title, bindparam("p_title", type_=Text)),
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


def _feed(row: Row[Any], default: AddressPolicy) -> Feed:
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


def _copies_by_article(conn: Session, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), CHUNK):
        query = (
            select(CopyRow, FeedRow.url)
            .join(FeedRow, FeedRow.id == CopyRow.feed_id)
            .where(CopyRow.article_id.in_(ids[start : start + CHUNK]))
            .order_by(CopyRow.id)
        )
        for copy, feed_url in conn.execute(query).all():
            result.setdefault(copy.article_id, []).append(
                {
                    "feed_url": feed_url,
                    "url": copy.url,
                    "guid": copy.guid,
                    "title": copy.title,
                    "reason": copy.reason,
                    "seen": copy.seen_at.isoformat(),
                }
            )
    return result


def _article_json(a: ArticleRow, feed_url: str, copies: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": a.id,
        "feed_url": feed_url,
        "url": a.url,
        "canonical_url": a.canonical_url,
        "guid": a.guid,
        "title": a.title,
        "summary": a.summary,
        "content": a.content,
        "authors": json.loads(a.authors),
        "language": a.language,
        "published": a.published_at.isoformat(),
        "published_from_feed": a.date_from_feed,
        "first_seen": a.first_seen_at.isoformat(),
        "updated": a.updated_at.isoformat(),
        "update_count": a.update_count,
        "duplicate_of": a.duplicate_of,
        "duplicate_reason": a.duplicate_reason,
        "similarity": json.loads(a.similarity) if a.similarity else None,
        "story_id": a.story_id,
        "copies": copies,
    }
