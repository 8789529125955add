"""Loading evaluation documents into a real monitor database, and reading the verdicts back.

The documents go in as stored articles (one feed, ``near_at`` NULL), exactly as
the poller leaves them, so the near stage under test is the one the daemon runs.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from bench.databases import CHUNK, engine_for, vacuum_analyze
from bench.neardup_data import Doc
from monitor.config import DuplicateSettings
from monitor.near.decide import KEY_CAP
from monitor.near.stage import NearStage
from monitor.store.bulk import add_pairs
from monitor.store.models import ArticleRow, FeedRow, FingerprintRow, SketchKeyRow, SketchRow
from monitor.store.repository import Repository

COMMON_KEY = 3  # a key this many real sketches share is a common one (a common shingle)
_KEY_TABLE = SketchKeyRow.metadata.tables[SketchKeyRow.__tablename__]
_MOVE_SERIAL = "SELECT setval(pg_get_serial_sequence('sketches', 'doc'), max(doc)) FROM sketches"


def article_id(doc_id: str) -> str:
    return hashlib.blake2b(doc_id.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class FixedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


def fresh_repository(url: str) -> Repository:
    """An empty monitor database at ``url`` (PostgreSQL: its tables dropped first)."""
    if url.startswith("postgresql"):
        engine = engine_for(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    return Repository.open(url)


def add_feed(repo: Repository, key: str = "bench", url: str = "https://bench.example/feed") -> int:
    now = datetime.now(UTC)
    with repo.engine.begin() as conn:
        values = {
            "source_key": key,
            "source_url": url,
            "url": url,
            "origin": "config",
            "status": "ok",
            "created_at": now,
        }
        return int(conn.execute(insert(FeedRow).returning(FeedRow.id), values).scalar_one())


def load_docs(repo: Repository, feed_id: int, docs: Sequence[Doc], seen: datetime) -> None:
    """Store ``docs`` as articles still to compare, first seen in their order."""
    rows = [_article(feed_id, doc, seen + timedelta(microseconds=i)) for i, doc in enumerate(docs)]
    with repo.engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(ArticleRow), rows[start : start + CHUNK])


def _article(feed_id: int, doc: Doc, seen: datetime) -> dict[str, Any]:
    return {
        "id": article_id(doc.id),
        "feed_id": feed_id,
        "guid": doc.id,
        "url": None,
        "canonical_url": None,
        "title": doc.title,
        "summary": "",
        "content": doc.text,
        "authors": "[]",
        "language": "en",
        "published_at": doc.published,
        "date_from_feed": True,
        "first_seen_at": seen,
        "updated_at": seen,
        "update_count": 0,
        "entry_fp": "",
        "matched_at": seen,
    }


def near_stage(
    repo: Repository | TimedStore, settings: DuplicateSettings, at: datetime
) -> NearStage:
    from monitor.app import near_limits

    return NearStage(repo, FixedClock(at), *near_limits(settings))


class TimedStore:
    """The repository, each of its calls timed: where the stage's time goes.

    ``reads`` sums the stage's queries (articles to compare, index entries, bins,
    sketches, stories, stored texts), ``saves`` its one write a batch; the rest of
    the stage's time is computing (sketching, screening, deciding).
    """

    WRITES = frozenset({"save_near"})

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.repo, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return timed

    @property
    def reads(self) -> float:
        return sum(s for name, s in self.seconds.items() if name not in self.WRITES)

    @property
    def saves(self) -> float:
        return sum(s for name, s in self.seconds.items() if name in self.WRITES)


def verdicts(repo: Repository) -> dict[str, tuple[str | None, int | None]]:
    """article id -> (the original it copies, its story)."""
    query = select(ArticleRow.id, ArticleRow.duplicate_of, ArticleRow.story_id)
    with repo.engine.connect() as conn:
        return {a: (dup, story) for a, dup, story in conn.execute(query)}


def shared_keys(
    repo: Repository, feed_id: int, docs: Sequence[Doc], seen: datetime, at: datetime
) -> dict[int, int]:
    """Index ``docs`` for real (the near stage, at ``at``); return the keys COMMON_KEY or
    more of their sketches share, with their counts."""
    load_docs(repo, feed_id, docs, seen)
    near_stage(repo, DuplicateSettings(), at).run()
    query = (
        select(SketchKeyRow.key, func.count())
        .group_by(SketchKeyRow.key)
        .having(func.count() >= COMMON_KEY)
    )
    with repo.engine.connect() as conn:
        return {int(key): int(count) for key, count in conn.execute(query)}


@dataclass(frozen=True)
class Stored:
    """One article a fill stores: its row, the date its sketch's dates start from, and
    its fingerprint rows, if any."""

    article: dict[str, Any]
    sketch_from: datetime
    fingerprints: list[dict[str, Any]] = field(default_factory=list)


def fill_indexed(
    repo: Repository,
    count: int,
    pool: Mapping[int, int],
    seed: int,
    stored: Callable[[int, random.Random], Stored],
) -> None:
    """``count`` articles (``stored(i, rng)`` makes the i-th), each with a filler sketch
    and filler keys, as if compared long ago.

    One key in 16 comes from ``pool`` (the keys several real sketches share:
    common shingles, boilerplate; with their counts), so those keys fill up to
    their cap (KEY_CAP, as the near stage files them) as they would in a large
    real corpus; the others are random, as a real article's
    rare shingles are. Filler sketches are random bins: they are screened out
    like unrelated articles are, and never change a verdict.
    """
    rng = random.Random(seed)
    room = {key: KEY_CAP - filed for key, filed in pool.items() if filed < KEY_CAP}
    open_keys = list(room)
    next_doc = _next_doc(repo)
    with repo.engine.begin() as conn:
        for start in range(0, count, CHUNK):
            articles, sketches, prints = [], [], []
            keys: list[tuple[int, int]] = []
            for i in range(start, min(count, start + CHUNK)):
                made = stored(i, rng)
                articles.append(made.article)
                sketches.append(
                    _filler_sketch(made.article["id"], made.sketch_from, rng, next_doc + i)
                )
                keys.extend((key, next_doc + i) for key in _filler_keys(rng, open_keys, room))
                prints += made.fingerprints
            conn.execute(insert(ArticleRow), articles)
            conn.execute(insert(SketchRow), sketches)
            if prints:
                conn.execute(insert(FingerprintRow), prints)
            add_pairs(conn, _KEY_TABLE, "key", "doc", keys)
        if repo.engine.dialect.name == "postgresql":  # the docs were given: move the serial on
            conn.execute(text(_MOVE_SERIAL))


def prefill(repo: Repository, feed_id: int, count: int, pool: Mapping[int, int], seed: int) -> None:
    """``count`` filler articles with sketches and keys (fill_indexed), published in 2005."""
    published = datetime(2005, 1, 1, tzinfo=UTC)

    def filler(i: int, rng: random.Random) -> Stored:
        aid = article_id(f"filler/{seed}/{i}")
        at = published + timedelta(seconds=i % 5_000_000)
        return Stored(
            stored_article(feed_id, aid, f"filler-{i}", f"filler {i}", at, published), published
        )

    fill_indexed(repo, count, pool, seed, filler)


def settle(repo: Repository) -> None:
    """On PostgreSQL, what autovacuum does on its own with the corpus stored long ago
    (this machine's PostgreSQL has it off): without the visibility map every index
    lookup of the candidate index also read the table (near_filed: 57 -> 37 ms a batch
    at 100,000 indexed)."""
    if repo.engine.dialect.name == "postgresql":
        vacuum_analyze(repo.engine)


def _next_doc(repo: Repository) -> int:
    with repo.engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(SketchRow.doc), 0))).scalar_one()) + 1


def stored_article(
    feed_id: int, aid: str, guid: str, title: str, published: datetime, seen: datetime
) -> dict[str, Any]:
    """An article row already compared and matched (at ``seen``), with no text."""
    return {
        "id": aid,
        "feed_id": feed_id,
        "guid": guid,
        "title": title,
        "summary": "",
        "content": "",
        "authors": "[]",
        "published_at": published,
        "date_from_feed": True,
        "first_seen_at": seen,
        "updated_at": seen,
        "update_count": 0,
        "entry_fp": "",
        "matched_at": seen,
        "near_at": seen,
    }


def _filler_sketch(aid: str, published: datetime, rng: random.Random, doc: int) -> dict[str, Any]:
    return {
        "doc": doc,
        "article_id": aid,
        "published_at": published + timedelta(minutes=rng.randint(0, 60 * 24 * 60)),
        "words": rng.randbytes(64),
        "masked": rng.randbytes(64),
        "names": rng.randbytes(2 * rng.randint(5, 40)),
        "word_count": rng.randint(100, 800),
    }


def _filler_keys(rng: random.Random, open_keys: list[int], room: dict[int, int]) -> set[int]:
    keys = {rng.randint(-(1 << 31), (1 << 31) - 1) for _ in range(15)}
    if open_keys:
        at = rng.randrange(len(open_keys))
        key = open_keys[at]
        keys.add(key)
        room[key] -= 1
        if not room[key]:  # full: the stage files no more under it
            open_keys[at] = open_keys[-1]
            open_keys.pop()
    return keys


def index_bytes(repo: Repository) -> int:
    """Bytes the sketches and the candidate index take, tables and their indexes."""
    with repo.engine.connect() as conn:
        if repo.engine.dialect.name == "postgresql":
            total = 0
            for table in ("sketches", "sketch_keys"):
                query = text("SELECT pg_total_relation_size(:t)")
                total += int(conn.execute(query, {"t": table}).scalar_one())
            return total
        query = text(
            "SELECT sum(pgsize) FROM dbstat WHERE name IN "
            "('sketches', 'sketch_keys', 'sqlite_autoindex_sketches_1')"
        )
        return int(conn.execute(query).scalar_one() or 0)
