"""Storing sketches, the candidate index and stories; finding the articles still to compare.

A part of the repository (``Repository`` takes these methods in). An article is
written with ``near_at`` NULL; the near stage sets it in the same transaction as
its sketch, its index keys and its story, so a crash in between leaves the
article to be compared again, never half filed.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.core.errors import StorageError
from monitor.near.decide import Decision, Known, NearArticle
from monitor.near.sketch import Sketch, name_weight
from monitor.near.sketch import sketch as sketch_of
from monitor.near.story import StoryCandidate
from monitor.store.bulk import PARTITION, add_pairs, any_of, lock_articles, values_by_key
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

CHUNK = 500
_KEYS = SketchKeyRow.metadata.tables[SketchKeyRow.__tablename__]
_STORY_KEYS = StoryKeyRow.metadata.tables[StoryKeyRow.__tablename__]
STORY_NAMES_KEPT = 64  # a story remembers its most used names


NAME_KEYS_KEPT = 50_000
# A plain dict, emptied when full: an lru_cache entry costs twice the bytes, and
# a batch asks for some 10,000 names, most of them asked before.
_NAME_KEYS: dict[str, int] = {}


def name_key(name: str) -> int:
    """A name as a signed 32-bit key (fits INTEGER on every database)."""
    found = _NAME_KEYS.get(name)
    if found is None:
        if len(_NAME_KEYS) >= NAME_KEYS_KEPT:
            _NAME_KEYS.clear()
        digest = hashlib.blake2b(name.encode(), digest_size=4).digest()
        found = _NAME_KEYS[name] = int.from_bytes(digest, "big", signed=True)
    return found


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

    def near_known(self, docs: Iterable[int]) -> dict[int, Known]:
        """The stored sketches ``docs``, whole: names, original and story."""
        with self._reader.connect() as conn:
            return _known_sketches(conn, set(docs))

    def story_candidates(self, names: Iterable[str], since: datetime) -> list[StoryCandidate]:
        """Stories using any of these names whose latest article is since ``since``,
        each with the counts of these names only (see ``StoryCandidate``)."""
        asked = {name: name for name in names}  # to share each name's one string
        with self._reader.connect() as conn:
            wanted = sorted({name_key(name) for name in asked})
            # Found in the database, not as (name, story) pairs brought over and
            # counted here: late in a large run, most stories of the window, 140,000
            # pairs a batch (25 MB) for the few thousand stories they name.
            using = select(_STORY_KEYS.c.story).where(any_of(conn, _STORY_KEYS.c.key, wanted))
            rows = select(
                StoryRow.id, StoryRow.names, StoryRow.updated_at, StoryRow.articles
            ).where(StoryRow.id.in_(using), StoryRow.updated_at >= since)
            # In id order: which of two equally good stories an article joins depends on it.
            rows = rows.order_by(StoryRow.id)
            found = []
            for story, names, updated, count in conn.execute(rows):
                counts, unnamed = _counts_of(names, asked, count)
                found.append(StoryCandidate(story, counts, updated, count, unnamed))
            return found

    def save_near(self, decisions: Sequence[Decision], now: datetime) -> None:
        """The batch's sketches, keys, stories and verdicts, in one transaction."""
        try:
            with self.engine.begin() as conn:
                lock_articles(conn, [d.article.article_id for d in decisions])
                story_ids = _save_stories(conn, decisions, now)
                docs = _save_sketches(conn, decisions)
                # In index order: each insert lands near the last one in the index's B-tree.
                keys = sorted(
                    (k, docs[d.article.article_id]) for d in decisions for k in d.index_keys
                )
                # New: a sketch saved again had its keys deleted first.
                add_pairs(conn, _KEYS, "key", "doc", keys, new=True)
                _save_verdicts(conn, decisions, story_ids, now)
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


def _counts_of(names: str, asked: dict[str, str], articles: int) -> tuple[dict[str, int], float]:
    """The counts of the asked names; for a story of one article, the others' weight.

    Near the end of a batch of 500 most stories of the window share a name with
    it, and each keeps 64: all their counts were 30 MB per batch, few of them read.
    """
    counts: dict[str, int] = {}
    unnamed = 0.0
    for name, count in json.loads(names).items():
        if name in asked:
            counts[asked[name]] = count
        elif articles == 1:  # see ``choose_story``
            unnamed += name_weight(name)
    return counts, unnamed


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _known_sketches(conn: Connection, docs: set[int]) -> dict[int, Known]:
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
    known: dict[int, Known] = {}
    for rows in conn.execute(query).partitions(PARTITION):  # thousands: not one at a time
        for doc, article, published, words, masked, names, count, dup, story in rows:
            sketch = Sketch(words, masked, (), _names(names), count)
            story_ref = story if story is not None else article
            known[doc] = Known(article, published, sketch, dup or article, story_ref)
    return known


def _names(packed: bytes) -> array[int]:
    # Thousands of candidates a batch, few of them compared on names: their 16-bit
    # values in one buffer, not a tuple of int objects (a fifth of the bytes).
    names = array("H", packed)
    if sys.byteorder == "little":  # stored big-endian
        names.byteswap()
    return names


def refile_keys_of(conn: Connection, article_id: str) -> None:
    """Before ``article_id`` is deleted: its index keys, filed for its earliest copy.

    A copy published soon after its original is not filed where the original is
    (monitor.near.decide, ``REFILE_AFTER``): without this, a later copy would find
    neither. A purged body cannot be sketched again: then nothing is filed.
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
    keys = sketch_of(title, article_body(summary, content), language).keys
    add_pairs(conn, _KEYS, "key", "doc", sorted((key, copy) for key in set(keys)))


def _packed(names: Sequence[int]) -> bytes:
    """``_names`` the other way: big-endian 16-bit values."""
    return struct.pack(f">{len(names)}H", *names)


def _sketch_values(decision: Decision) -> dict[str, Any]:
    sketch = decision.sketch
    return {
        "article_id": decision.article.article_id,
        "published_at": decision.article.published,
        "words": sketch.words,
        "masked": sketch.masked,
        "names": _packed(sketch.names),
        "word_count": sketch.word_count,
    }


def _save_sketches(conn: Connection, decisions: Sequence[Decision]) -> dict[str, int]:
    """Each decided article's doc number: changed sketches replaced, new ones added."""
    docs: dict[str, int] = {}
    for decision in decisions:
        doc = decision.article.doc
        if doc is not None:
            values = _sketch_values(decision)
            conn.execute(update(SketchRow).where(SketchRow.doc == doc).values(values))
            conn.execute(delete(SketchKeyRow).where(SketchKeyRow.doc == doc))
            docs[decision.article.article_id] = doc
    new = [_sketch_values(d) for d in decisions if d.article.doc is None]
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
    conn: Connection, decisions: Sequence[Decision], now: datetime
) -> dict[int | str, int]:
    """Stories made or grown by the batch; returns each story handle's stored id."""
    grown: dict[int | str, list[Decision]] = {}
    for decision in decisions:
        grown.setdefault(decision.story, []).append(decision)
    ids: dict[int | str, int] = {}
    keys: list[tuple[int, int]] = []
    joining = {
        h: [m for m in members if m.article.story != h]  # not counted already
        for h, members in grown.items()
        if isinstance(h, int)
    }
    ids.update((h, h) for h in joining if isinstance(h, int))
    _grow_stories(conn, {h: m for h, m in joining.items() if isinstance(h, int) and m}, keys)
    made = {h: m for h, m in grown.items() if not isinstance(h, int)}
    if made:
        rows = [_story_values(members, now) for members in made.values()]
        added = insert(StoryRow).returning(StoryRow.id, sort_by_parameter_order=True)
        for handle, story in zip(made, conn.execute(added, rows).scalars(), strict=True):
            ids[handle] = int(story)
            names = {name for m in made[handle] for name in m.sketch.story_names}
            keys += _story_keys(int(story), names)
    _add_story_keys(conn, keys)
    return ids


def _story_values(members: Sequence[Decision], now: datetime) -> dict[str, Any]:
    first = members[0]
    names = Counter(name for m in members for name in m.sketch.story_names)
    return {
        "first_article": first.article.article_id,
        "title": first.article.title,
        "articles": len(members),
        "created_at": now,
        "updated_at": max(m.article.published for m in members),
        "names": json.dumps(dict(names.most_common(STORY_NAMES_KEPT))),
    }


def _grow_stories(
    conn: Connection, joining: dict[int, list[Decision]], keys: list[tuple[int, int]]
) -> None:
    """Stored stories that articles joined: counts, names and latest time, in one go."""
    current: dict[int, tuple[str, datetime]] = {}
    for chunk in _chunks(sorted(joining)):
        query = select(StoryRow.id, StoryRow.names, StoryRow.updated_at).where(
            StoryRow.id.in_(chunk)
        )
        current.update((story, (names, updated)) for story, names, updated in conn.execute(query))
    rows = []
    for story, members in joining.items():
        if story not in current:  # the story is gone (its articles deleted)
            continue
        names_json, updated = current[story]
        old = Counter(json.loads(names_json))
        names = old + Counter(name for m in members for name in m.sketch.story_names)
        rows.append(
            {
                "s_id": story,
                "s_added": len(members),
                "s_updated": max(updated, *(m.article.published for m in members)),
                "s_names": json.dumps(dict(names.most_common(STORY_NAMES_KEPT))),
            }
        )
        keys += _story_keys(story, set(names) - set(old))
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


def _story_keys(story: int, names: set[str]) -> list[tuple[int, int]]:
    return [(key, story) for key in sorted({name_key(n) for n in names})]


def _add_story_keys(conn: Connection, rows: list[tuple[int, int]]) -> None:
    # A name the story's top names dropped earlier may come back: its key is there.
    add_pairs(conn, _STORY_KEYS, "key", "story", rows)


def _save_verdicts(
    conn: Connection, decisions: Sequence[Decision], story_ids: dict[int | str, int], now: datetime
) -> None:
    rows = [
        {
            "b_id": d.article.article_id,
            "near_at": now,
            "duplicate_of": d.duplicate_of,
            "duplicate_reason": None if d.adopts else d.reason,
            "similarity": json.dumps({} if d.adopts else _explained(d)),
            "story_id": story_ids[d.story],
        }
        for d in decisions
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
    for d in decisions:
        if d.adopts:
            _reroot(conn, d)


def _reroot(conn: Connection, decision: Decision) -> None:
    """The adopted original and its copies become copies of the decided article."""
    new, old = decision.article.article_id, decision.adopts
    conn.execute(update(ArticleRow).where(ArticleRow.duplicate_of == old).values(duplicate_of=new))
    conn.execute(
        update(ArticleRow)
        .where(ArticleRow.id == old)
        .values(
            duplicate_of=new,
            duplicate_reason=decision.reason,
            similarity=json.dumps(_explained(decision)),
        )
    )


def _explained(decision: Decision) -> dict[str, Any]:
    scores: dict[str, Any] = decision.similarity.as_dict() if decision.similarity else {}
    if decision.story_shared:
        scores["story_names"] = list(decision.story_shared)
    return scores
