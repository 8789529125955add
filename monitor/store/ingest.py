"""One poll's entries, looked up and written as the exact-copy rules decide.

The store decides nothing here: it looks each entry's keys up, asks the rules
(``monitor.core.exact.ExactRules``, from ``monitor.dedup``) what the entry is,
and writes that, all in the caller's transaction. What the poll wrote so far is
kept in memory too, so a later entry of the same poll finds it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from monitor.core.exact import EntryKeys, ExactRules, Found, Stored, Verdict
from monitor.core.types import Entry, IngestCounts, Sighting
from monitor.store.bulk import chunks
from monitor.store.models import ArticleRow, CopyRow, FingerprintRow

# Which count a verdict adds to. An original taking an article's place was
# first found as its copy: one of the two is a duplicate.
_COUNTER = {
    "new": "new",
    "update": "updated",
    "copy": "duplicates",
    "original": "duplicates",
    "unchanged": "unchanged",
    "tombstoned": "tombstoned",
}


@dataclass
class EntryBatch:
    """The entries of one poll, decided and written in the caller's transaction."""

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

    def run(self, conn: Connection, entries: Sequence[Entry], rules: ExactRules) -> None:
        keys = rules.keys(self.feed_id, entries)
        self._look_up(conn, keys)
        found = Found(self.known, self.stored, self.taken, self.created)
        for entry, entry_keys in zip(entries, keys, strict=True):
            verdict = rules.verdict(entry_keys, found, self.now)
            self._write(conn, entry, entry_keys, verdict, rules)
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
        for chunk in chunks(wanted):
            rows = conn.execute(
                select(FingerprintRow.fp, FingerprintRow.article_id).where(
                    FingerprintRow.fp.in_(chunk)
                )
            )
            self.known.update(dict(rows.all()))
        ids = [aid for aid in self.known.values() if aid]
        for chunk in chunks(ids):
            rows = conn.execute(
                select(
                    ArticleRow.id,
                    ArticleRow.entry_fp,
                    ArticleRow.text_fp,
                    ArticleRow.canonical_url,
                    ArticleRow.published_at,
                ).where(ArticleRow.id.in_(chunk))
            )
            for row in rows:
                self.stored[row.id] = Stored(
                    row.entry_fp, row.text_fp, row.canonical_url, row.published_at
                )

    def _write(
        self, conn: Connection, entry: Entry, keys: EntryKeys, verdict: Verdict, rules: ExactRules
    ) -> None:
        kind, article = verdict.kind, verdict.article_id
        self.counts = self.counts + IngestCounts(**{_COUNTER[kind]: 1})
        if kind == "original":
            self._take_over(conn, entry, keys, verdict, rules)
        elif kind == "new":
            self.articles.append(_article_values(self.feed_id, entry, keys, article, self.now))
            self.created.add(article)
        elif kind == "update":
            conn.execute(
                update(ArticleRow)
                .where(ArticleRow.id == article)
                .values(
                    **_changed_values(entry, keys, self.now),
                    update_count=ArticleRow.update_count + 1,
                )
            )
        elif kind == "copy":
            self.copies.append(
                {
                    "article_id": article,
                    "feed_id": self.feed_id,
                    "guid": entry.guid,
                    "url": entry.url,
                    "title": entry.title,
                    "reason": verdict.reason,
                    "seen_at": self.now,
                }
            )
        self._remember(article, *verdict.gains)
        if kind in ("new", "update", "original"):
            self.stored[article] = keys.as_stored()
        if kind in ("new", "update", "copy", "original"):
            self.sightings.append(Sighting(kind, article, entry.title, verdict.reason))

    def _take_over(
        self, conn: Connection, entry: Entry, keys: EntryKeys, verdict: Verdict, rules: ExactRules
    ) -> None:
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
        self._demote(conn, article, rules.held_keys(old.feed_id, _entry_of(old)))
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

    def _demote(self, conn: Connection, article: str, pairs: Mapping[str, str]) -> None:
        """The old holder's own keys in its feed (``pairs``: each with its key as a copy)
        become its keys as a copy: its next poll finds the link, not an article to
        update back."""
        owned = set(
            conn.execute(
                select(FingerprintRow.fp).where(
                    FingerprintRow.article_id == article, FingerprintRow.fp.in_(list(pairs))
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
        """Keys already known keep the article they name."""
        for fp in fps:
            if fp and fp not in self.known:
                self.known[fp] = article_id
                self.fingerprints[fp] = article_id


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
    feed_id: int, entry: Entry, keys: EntryKeys, article_id: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": article_id,
        "feed_id": feed_id,
        "guid": entry.guid,
        "published_at": entry.published or now,
        "date_from_feed": entry.published is not None,
        "first_seen_at": now,
        "update_count": 0,
        "duplicate_of": None,
        **_changed_values(entry, keys, now),
    }
