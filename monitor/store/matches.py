"""Storing what the watchlists matched, and finding the articles still to match.

A part of the repository (``Repository`` takes these methods in): an article is
written with ``matched_at`` NULL, and the match stage sets it in the same
transaction as the article's matches, so a crash in between leaves the article
to be matched again, never half matched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.core.errors import StorageError
from monitor.core.types import ArticleText, Match
from monitor.store.bulk import CHUNK, chunks, lock_articles
from monitor.store.models import ArticleRow, FeedRow, MatchRow
from monitor.text.plain import article_body


class MatchStorage:
    engine: Engine
    _reader: Engine

    def pending_articles(self, limit: int) -> list[ArticleText]:
        """Articles not yet matched, oldest first."""
        query = (
            _article_text_query()
            .where(ArticleRow.matched_at.is_(None))
            .order_by(ArticleRow.first_seen_at, ArticleRow.id)
            .limit(limit)
        )
        with Session(self._reader) as conn:
            return [_article_text(row) for row in conn.execute(query).all()]

    def missed_meaning(self, limit: int) -> list[ArticleText]:
        """Articles matched while meaning could not be read, oldest first."""
        query = (
            _article_text_query()
            .where(ArticleRow.meaning_missed.is_not(None), ArticleRow.matched_at.is_not(None))
            .order_by(ArticleRow.first_seen_at, ArticleRow.id)
            .limit(limit)
        )
        with Session(self._reader) as conn:
            return [_article_text(row) for row in conn.execute(query).all()]

    def save_matches(
        self,
        results: Sequence[tuple[str, Sequence[Match]]],
        now: datetime,
        meaning_missed: str | None = None,
    ) -> int:
        """Each article's matches, and the article marked matched; returns rows added.

        A match already stored (same article, watchlist and rule) is kept as it
        was: its first time is the one that counts for alerts. ``meaning_missed``:
        why meaning could not read these articles (None: it could, or was not asked).
        """
        try:
            with self.engine.begin() as conn:
                ids = [article_id for article_id, _ in results]
                lock_articles(conn, ids)
                known = _known_matches(conn, ids)
                rows = [
                    _match_values(article_id, match, now)
                    for article_id, matches in results
                    for match in matches
                    if (article_id, match.watchlist, match.rule) not in known
                ]
                if rows:
                    conn.execute(insert(MatchRow), rows)
                for chunk in chunks(ids):
                    conn.execute(
                        update(ArticleRow)
                        .where(ArticleRow.id.in_(chunk))
                        .values(matched_at=now, meaning_missed=meaning_missed)
                    )
                return len(rows)
        except SQLAlchemyError as exc:
            raise StorageError(f"could not save matches: {exc}") from exc

    def mark_all_matched(self, now: datetime) -> int:
        """With no watchlist at all there is nothing to ask: every pending article is done."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(ArticleRow).where(ArticleRow.matched_at.is_(None)).values(matched_at=now)
            )
            return int(result.rowcount or 0)

    def article_text(self, article_id: str) -> ArticleText | None:
        query = _article_text_query().where(ArticleRow.id == article_id)
        with Session(self._reader) as conn:
            row = conn.execute(query).first()
        return _article_text(row) if row else None

    def articles_since(self, since: datetime | None) -> Iterator[ArticleText]:
        """Stored articles first seen since ``since`` (all with None), oldest first."""
        query = _article_text_query().order_by(ArticleRow.first_seen_at, ArticleRow.id)
        if since is not None:
            query = query.where(ArticleRow.first_seen_at >= since)
        with Session(self._reader) as conn:
            for row in conn.execute(query.execution_options(yield_per=CHUNK)):
                yield _article_text(row)

    def matches_of(self, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Stored matches by article id, best score first."""
        with Session(self._reader) as conn:
            return stored_matches(conn, ids)


def stored_matches(conn: Session, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Stored matches by article id, best score first."""
    found: dict[str, list[dict[str, Any]]] = {}
    for chunk in chunks(ids):
        query = (
            select(MatchRow)
            .where(MatchRow.article_id.in_(chunk))
            .order_by(MatchRow.score.desc(), MatchRow.id)
        )
        for row in conn.execute(query).scalars():
            found.setdefault(row.article_id, []).append(match_json(row))
    return found


def match_json(row: MatchRow) -> dict[str, Any]:
    return {
        "watchlist": row.watchlist,
        "rule": row.rule,
        "score": row.score,
        "terms": json.loads(row.terms),
        "snippet": row.snippet,
        "highlights": json.loads(row.highlights),
        "matched_at": row.matched_at.isoformat(),
    }


def _known_matches(conn: Any, ids: list[str]) -> set[tuple[str, str, str]]:
    known: set[tuple[str, str, str]] = set()
    for chunk in chunks(ids):
        query = select(MatchRow.article_id, MatchRow.watchlist, MatchRow.rule).where(
            MatchRow.article_id.in_(chunk)
        )
        known.update((a, w, r) for a, w, r in conn.execute(query).all())
    return known


def _match_values(article_id: str, match: Match, now: datetime) -> dict[str, Any]:
    terms = [{"ref": t.ref, "term": t.term, "hits": [list(h) for h in t.hits]} for t in match.terms]
    return {
        "article_id": article_id,
        "watchlist": match.watchlist,
        "rule": match.rule,
        "score": match.score,
        "terms": json.dumps(terms),
        "snippet": match.snippet,
        "highlights": json.dumps([list(span) for span in match.highlights]),
        "matched_at": now,
    }


def _article_text_query() -> Any:
    return select(
        ArticleRow.id,
        ArticleRow.title,
        ArticleRow.summary,
        ArticleRow.content,
        ArticleRow.language,
        FeedRow.url,
        FeedRow.title,
    ).join(FeedRow, FeedRow.id == ArticleRow.feed_id)


def _article_text(row: Any) -> ArticleText:
    article_id, title, summary, content, language, feed_url, feed_title = row
    return ArticleText(
        article_id, title, article_body(summary, content), language, feed_url, feed_title
    )
