"""Storing sketches, the candidate index and stories; finding the articles still to compare.

A part of the repository (``Repository`` takes these methods in). An article is
written with ``near_at`` NULL; the near stage sets it in the same transaction as
its sketch, its index keys and its story, so a crash in between leaves the
article to be compared again, never half filed.

Rows to values and back (monitor.core.near), nothing else: the near stage
(monitor.near.filing) decides what is filed, and hands in what it decides on
rows read in a transaction (a grown story's names, a deleted original's keys).
"""

from __future__ import annotations

import json
import struct
import sys
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.core.errors import StorageError
from monitor.core.near import (
    Adoption,
    FiledArticle,
    GrowStory,
    JoinedStory,
    NearArticle,
    NearFiling,
    StoredSketch,
    StoredStory,
)
from monitor.store.bulk import (
    PARTITION,
    add_pairs,
    any_of,
    chunks,
    lock_articles,
    values_by_key,
)
from monitor.store.models import (
    ArticleRow,
    CopyRow,
    FeedRow,
    SketchKeyRow,
    SketchRow,
    StoryKeyRow,
    StoryRow,
    UTCDateTime,
)
from monitor.text.plain import article_body

_KEYS = SketchKeyRow.metadata.tables[SketchKeyRow.__tablename__]
_STORY_KEYS = StoryKeyRow.metadata.tables[StoryKeyRow.__tablename__]
T = TypeVar("T")
# A text's index keys (title, body, language): the near stage's sketcher, handed in.
TextKeys = Callable[[str, str, str | None], Iterable[int]]

_TEXT = (
    ArticleRow.id,
    ArticleRow.title,
    ArticleRow.summary,
    ArticleRow.content,
    ArticleRow.language,
    ArticleRow.published_at,
)


def _near_article(
    article_id: str,
    title: str,
    summary: str,
    content: str,
    language: str | None,
    published: datetime,
    doc: int | None = None,
    story: int | None = None,
) -> NearArticle:
    return NearArticle(
        article_id, title, article_body(summary, content), language, published, doc, story
    )


class NearStorage:
    engine: Engine
    _reader: Engine

    def pending_near(self, limit: int) -> list[NearArticle]:
        """Articles not yet compared (new, or changed since), first seen first."""
        query = (
            select(*_TEXT, SketchRow.doc, ArticleRow.story_id)
            .outerjoin(SketchRow, SketchRow.article_id == ArticleRow.id)
            .where(ArticleRow.near_at.is_(None))
            .order_by(ArticleRow.first_seen_at, ArticleRow.id)
            .limit(limit)
        )
        with Session(self._reader) as conn:
            return [_near_article(*row) for row in conn.execute(query)]

    def near_texts(self, ids: Iterable[str]) -> list[NearArticle]:
        """The stored texts of these articles (purged ones left out)."""
        with self._reader.connect() as conn:
            query = select(*_TEXT).where(
                any_of(conn, ArticleRow.id, sorted(ids)), ArticleRow.purged_at.is_(None)
            )
            return [_near_article(*row) for row in conn.execute(query)]

    def near_filed(self, keys: Iterable[int]) -> tuple[dict[int, list[int]], Counter[int]]:
        """(the docs filed under each of ``keys``, in order; how many each has)."""
        with self._reader.connect() as conn:
            filed = values_by_key(conn, _KEYS, "key", "doc", sorted(set(keys)))
        return filed, Counter({key: len(docs) for key, docs in filed.items()})

    def near_bins(
        self, docs: Iterable[int], since: datetime
    ) -> dict[int, tuple[bytes, bytes, int]]:
        """doc -> (word bins, masked bins, word count) of those published since ``since``."""
        # Core, not the ORM, and no datetimes: thousands of rows a batch.
        with self._reader.connect() as conn:
            query = select(
                SketchRow.doc, SketchRow.words, SketchRow.masked, SketchRow.word_count
            ).where(any_of(conn, SketchRow.doc, sorted(docs)), SketchRow.published_at >= since)
            rows = conn.execute(query).all()
        return {doc: (words, masked, count) for doc, words, masked, count in sorted(rows)}

    def near_known(self, docs: Iterable[int]) -> dict[int, StoredSketch]:
        """The stored sketches ``docs``, whole: names, original and story."""
        with self._reader.connect() as conn:
            return _stored_sketches(conn, set(docs))

    def story_candidates(
        self, keys: Sequence[int], since: datetime, keep: Callable[[StoredStory], T]
    ) -> list[T]:
        """What ``keep`` makes of each story filed under any of these name keys whose
        latest article is since ``since``, in id order.

        Each story is handed over as it is read: its names are many, and most of
        them are let go of at once (see monitor.near.stored.candidate_of).
        """
        with self._reader.connect() as conn:
            # Found in the database, not as (name, story) pairs brought over and
            # counted here: late in a large run, most stories of the window, 140,000
            # pairs a batch (25 MB) for the few thousand stories they name.
            using = select(_STORY_KEYS.c.story).where(any_of(conn, _STORY_KEYS.c.key, keys))
            rows = select(
                StoryRow.id, StoryRow.names, StoryRow.updated_at, StoryRow.articles
            ).where(StoryRow.id.in_(using), StoryRow.updated_at >= since)
            # In id order: which of two equally good stories an article joins depends on it.
            rows = rows.order_by(StoryRow.id)
            return [
                keep(StoredStory(story, json.loads(names), updated, count))
                for story, names, updated, count in conn.execute(rows)
            ]

    def save_near(self, filing: NearFiling, now: datetime, grow: GrowStory) -> None:
        """The batch's sketches, keys, stories and verdicts, in one transaction;
        ``grow`` gives each joined story's names and time from those stored."""
        articles = filing.articles
        try:
            with self.engine.begin() as conn:
                lock_articles(conn, [a.article_id for a in articles])
                story_ids = _save_stories(conn, filing, now, grow)
                docs = _save_sketches(conn, articles)
                # In index order: each insert lands near the last one in the index's B-tree.
                keys = sorted((k, docs[a.article_id]) for a in articles for k in a.index_keys)
                # New: a sketch saved again had its keys deleted first.
                add_pairs(conn, _KEYS, "key", "doc", keys, new=True)
                _save_verdicts(conn, articles, story_ids, now)
        except SQLAlchemyError as exc:
            # The database's own message, not the statement with its 500 rows of values.
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise StorageError(f"could not save near-duplicate decisions: {reason}") from exc

    def near_of(self, article_id: str) -> NearInfo | None:
        """What the near stage decided about an article, for ``monitor explain``."""
        with Session(self._reader) as conn:
            row = conn.get(ArticleRow, article_id)
            if row is None:
                return None
            original = conn.get(ArticleRow, row.duplicate_of) if row.duplicate_of else None
            story = conn.get(StoryRow, row.story_id) if row.story_id is not None else None
            return NearInfo(
                compared=row.near_at is not None,
                duplicate_of=row.duplicate_of,
                original_title=original.title if original else None,
                reason=row.duplicate_reason,
                scores=json.loads(row.similarity) if row.similarity else {},
                story=_story_info(conn, story) if story else None,
            )

    def stories(self, since: datetime, limit: int) -> list[StoryInfo]:
        """Stories with an article published since ``since``, the largest first."""
        with Session(self._reader) as conn:
            query = (
                select(StoryRow)
                .where(StoryRow.updated_at >= since)
                .order_by(StoryRow.articles.desc(), StoryRow.updated_at.desc(), StoryRow.id)
                .limit(limit)
            )
            return [_story_info(conn, story) for story in conn.execute(query).scalars()]

    def purge_bodies(self, before: datetime, now: datetime) -> int:
        """Empty the bodies of articles first seen before ``before``; sketches stay."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(ArticleRow)
                .where(
                    ArticleRow.first_seen_at < before,
                    ArticleRow.purged_at.is_(None),
                    ArticleRow.near_at.is_not(None),  # sketched first: the story stays known
                    ArticleRow.matched_at.is_not(None),
                )
                .values(summary="", content="", purged_at=now)
            )
            return int(result.rowcount or 0)


@dataclass(frozen=True, slots=True)
class StoryInfo:
    id: int
    title: str
    articles: int
    updated: datetime
    # article id, title, feed, the original it copies (itself: an exact copy, stored as a link)
    members: tuple[tuple[str, str, str, str | None], ...]


@dataclass(frozen=True, slots=True)
class NearInfo:
    compared: bool
    duplicate_of: str | None
    original_title: str | None
    reason: str | None
    scores: dict[str, Any]
    story: StoryInfo | None


def _story_info(conn: Session, story: StoryRow) -> StoryInfo:
    query = (
        select(ArticleRow.id, ArticleRow.title, FeedRow.title, FeedRow.url, ArticleRow.duplicate_of)
        .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
        .where(ArticleRow.story_id == story.id)
        .order_by(ArticleRow.published_at, ArticleRow.id)
    )
    members = [
        (a, title, feed_title or feed_url, dup)
        for a, title, feed_title, feed_url, dup in conn.execute(query)
    ]
    # Exact copies (same URL or text, other feeds) are stored as links, not articles.
    links = (
        select(CopyRow.article_id, CopyRow.title, FeedRow.title, FeedRow.url)
        .join(FeedRow, FeedRow.id == CopyRow.feed_id)
        .where(CopyRow.article_id.in_([m[0] for m in members]))
        .order_by(CopyRow.seen_at, CopyRow.id)
    )
    members += [
        (a, title, feed_title or feed_url, a)
        for a, title, feed_title, feed_url in conn.execute(links)
    ]
    return StoryInfo(story.id, story.title, story.articles, story.updated_at, tuple(members))


def _stored_sketches(conn: Connection, docs: set[int]) -> dict[int, StoredSketch]:
    query = (
        select(
            SketchRow.doc,
            SketchRow.article_id,
            SketchRow.published_at,
            SketchRow.words,
            SketchRow.masked,
            SketchRow.names,
            SketchRow.word_count,
            ArticleRow.duplicate_of,
            ArticleRow.story_id,
        )
        .join(ArticleRow, ArticleRow.id == SketchRow.article_id)
        .where(any_of(conn, SketchRow.doc, sorted(docs)))
    )
    stored: dict[int, StoredSketch] = {}
    for rows in conn.execute(query).partitions(PARTITION):  # thousands: not one at a time
        for doc, article, published, words, masked, names, count, dup, story in rows:
            stored[doc] = StoredSketch(
                article, published, words, masked, _names(names), count, dup, story
            )
    return stored


def _names(packed: bytes) -> array[int]:
    # Thousands of candidates a batch, few of them compared on names: their 16-bit
    # values in one buffer, not a tuple of int objects (a fifth of the bytes).
    names = array("H", packed)
    if sys.byteorder == "little":  # stored big-endian
        names.byteswap()
    return names


def refile_keys_of(conn: Connection, article_id: str, text_keys: TextKeys) -> None:
    """Before ``article_id`` is deleted: its index keys, filed for its earliest copy.

    A copy published soon after its original is not filed where the original is
    (monitor.near.decide, ``REFILE_AFTER``): without this, a later copy would find
    neither. A purged body cannot be sketched again: then nothing is filed. Its
    keys are the near stage's (``text_keys``), handed in: the store imports no stage.
    """
    body = select(ArticleRow.title, ArticleRow.summary, ArticleRow.content, ArticleRow.language)
    row = conn.execute(
        body.where(ArticleRow.id == article_id, ArticleRow.purged_at.is_(None))
    ).first()
    earliest = (
        select(SketchRow.doc)
        .join(ArticleRow, ArticleRow.id == SketchRow.article_id)
        .where(ArticleRow.duplicate_of == article_id)
        .order_by(ArticleRow.published_at, ArticleRow.id)
        .limit(1)
    )
    copy = conn.execute(earliest).scalar()
    if row is None or copy is None:
        return
    title, summary, content, language = row
    keys = text_keys(title, article_body(summary, content), language)
    add_pairs(conn, _KEYS, "key", "doc", sorted((key, copy) for key in set(keys)))


def _packed(names: Sequence[int]) -> bytes:
    """``_names`` the other way: big-endian 16-bit values."""
    return struct.pack(f">{len(names)}H", *names)


def _sketch_values(article: FiledArticle) -> dict[str, Any]:
    return {
        "article_id": article.article_id,
        "published_at": article.published,
        "words": article.words,
        "masked": article.masked,
        "names": _packed(article.names),
        "word_count": article.word_count,
    }


def _save_sketches(conn: Connection, articles: Sequence[FiledArticle]) -> dict[str, int]:
    """Each decided article's doc number: changed sketches replaced, new ones added."""
    docs: dict[str, int] = {}
    for article in articles:
        doc = article.doc
        if doc is not None:
            values = _sketch_values(article)
            conn.execute(update(SketchRow).where(SketchRow.doc == doc).values(values))
            conn.execute(delete(SketchKeyRow).where(SketchKeyRow.doc == doc))
            docs[article.article_id] = doc
    new = [_sketch_values(a) for a in articles if a.doc is None]
    if new:
        docs.update(_add_sketches(conn, new))
    return docs


_ADD_SKETCHES = text(
    "INSERT INTO sketches (article_id, published_at, words, masked, names, word_count) "
    "SELECT * FROM unnest(CAST(:article_id AS varchar[]), CAST(:published_at AS timestamp[]), "
    "CAST(:words AS bytea[]), CAST(:masked AS bytea[]), CAST(:names AS bytea[]), "
    "CAST(:word_count AS integer[])) RETURNING article_id, doc"
)


def _add_sketches(conn: Connection, rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """New sketches, and the doc number each got.

    Not one INSERT … RETURNING over 500 rows of VALUES: SQLAlchemy and psycopg each
    parsed that statement again, for 85 µs a sketch on PostgreSQL and 25 on SQLite.
    PostgreSQL takes the columns as arrays; SQLite an executemany, and the numbers
    are read back (a writer holds the file: they are the ones just given).
    """
    if conn.dialect.name == "postgresql":
        columns = {name: [row[name] for row in rows] for name in rows[0]}
        # A text() statement's parameters skip the column's type: stored as it stores them.
        stored = UTCDateTime().process_bind_param
        columns["published_at"] = [stored(at, conn.dialect) for at in columns["published_at"]]
        return [(article, doc) for article, doc in conn.execute(_ADD_SKETCHES, columns)]
    conn.execute(insert(SketchRow), rows)
    ids = [row["article_id"] for row in rows]
    query = select(SketchRow.article_id, SketchRow.doc).where(
        any_of(conn, SketchRow.article_id, ids)
    )
    return [(article, doc) for article, doc in conn.execute(query)]


def _save_stories(
    conn: Connection, filing: NearFiling, now: datetime, grow: GrowStory
) -> dict[int | str, int]:
    """Stories started or grown by the batch; returns each story handle's stored id."""
    keys = _grow_stories(conn, filing.joined_stories, grow)
    ids: dict[int | str, int] = {
        a.story: a.story for a in filing.articles if isinstance(a.story, int)
    }
    started = filing.new_stories
    if started:
        rows = [
            {
                "first_article": story.first_article,
                "title": story.title,
                "articles": story.articles,
                "created_at": now,
                "updated_at": story.updated,
                "names": json.dumps(story.names),
            }
            for story in started
        ]
        added = insert(StoryRow).returning(StoryRow.id, sort_by_parameter_order=True)
        for story, story_id in zip(started, conn.execute(added, rows).scalars(), strict=True):
            ids[story.handle] = int(story_id)
            keys += [(key, int(story_id)) for key in story.keys]
    # A name the story's top names dropped earlier may come back: its key is there.
    add_pairs(conn, _STORY_KEYS, "key", "story", keys)
    return ids


def _grow_stories(
    conn: Connection, joined: Sequence[JoinedStory], grow: GrowStory
) -> list[tuple[int, int]]:
    """Stored stories that articles joined: counts, names and latest time, in one go;
    returns the (key, story) pairs of the names they did not have."""
    current: dict[int, tuple[str, datetime]] = {}
    for chunk in chunks(sorted(story.id for story in joined)):
        query = select(StoryRow.id, StoryRow.names, StoryRow.updated_at).where(
            StoryRow.id.in_(chunk)
        )
        current.update((story, (names, updated)) for story, names, updated in conn.execute(query))
    rows = []
    keys: list[tuple[int, int]] = []
    for story in joined:
        if story.id not in current:  # the story is gone (its articles deleted)
            continue
        names, updated = current[story.id]
        grown = grow(story, json.loads(names), updated)
        rows.append(
            {
                "s_id": story.id,
                "s_added": story.articles,
                "s_updated": grown.updated,
                "s_names": json.dumps(grown.names),
            }
        )
        keys += [(key, story.id) for key in grown.keys]
    if rows:
        table = StoryRow.metadata.tables[StoryRow.__tablename__]
        statement = (
            update(table)
            .where(table.c.id == bindparam("s_id"))
            .values(
                articles=table.c.articles + bindparam("s_added"),
                updated_at=bindparam("s_updated"),
                names=bindparam("s_names"),
            )
        )
        conn.execute(statement, rows)
    return keys


def _save_verdicts(
    conn: Connection,
    articles: Sequence[FiledArticle],
    story_ids: dict[int | str, int],
    now: datetime,
) -> None:
    rows = [
        {
            "b_id": a.article_id,
            "near_at": now,
            "duplicate_of": a.duplicate_of,
            "duplicate_reason": a.reason,
            "similarity": json.dumps(a.scores),
            "story_id": story_ids[a.story],
        }
        for a in articles
    ]
    table = ArticleRow.metadata.tables[ArticleRow.__tablename__]
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            near_at=bindparam("near_at"),
            duplicate_of=bindparam("duplicate_of"),
            duplicate_reason=bindparam("duplicate_reason"),
            similarity=bindparam("similarity"),
            story_id=bindparam("story_id"),
        )
    )
    conn.execute(statement, rows)
    for article in articles:
        if article.adopts:
            _reroot(conn, article.article_id, article.adopts)


def _reroot(conn: Connection, new: str, adopted: Adoption) -> None:
    """The adopted original and its copies become copies of the decided article."""
    old = adopted.original
    conn.execute(update(ArticleRow).where(ArticleRow.duplicate_of == old).values(duplicate_of=new))
    conn.execute(
        update(ArticleRow)
        .where(ArticleRow.id == old)
        .values(
            duplicate_of=new,
            duplicate_reason=adopted.reason,
            similarity=json.dumps(adopted.scores),
        )
    )
