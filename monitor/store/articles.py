"""The stored articles as a whole: exporting, counting and deleting them.

A part of the repository (``Repository`` takes these methods in). Articles are
written by saving polls (``monitor.store.polls``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from monitor.store.bulk import chunks
from monitor.store.matches import stored_matches
from monitor.store.models import ArticleRow, CopyRow, FeedRow, FingerprintRow
from monitor.store.near import TextKeys, refile_keys_of


class ArticleStorage:
    engine: Engine
    _reader: Engine

    def export_articles(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        query = (
            select(ArticleRow, FeedRow.url)
            .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
            .order_by(ArticleRow.first_seen_at, ArticleRow.id)
        )
        if since is not None:
            query = query.where(ArticleRow.first_seen_at >= since)
        with Session(self._reader) as conn:
            rows = conn.execute(query).all()
            copies = _copies_by_article(conn, [row[0].id for row in rows])
        with Session(self._reader) as conn:
            matches = stored_matches(conn, [row[0].id for row in rows])
        for article, feed_url in rows:
            found = _article_json(article, feed_url, copies.get(article.id, []))
            yield found | {"matches": matches.get(article.id, [])}

    def delete_article(self, article_id: str, text_keys: TextKeys) -> bool:
        """Delete an article; its fingerprints stay as tombstones so it never returns.

        ``text_keys``: how the near stage files a text (``monitor.near.filing.text_keys``),
        to file the article's keys for its earliest copy."""
        with self.engine.begin() as conn:
            conn.execute(
                update(FingerprintRow)
                .where(FingerprintRow.article_id == article_id)
                .values(article_id=None)
            )
            conn.execute(delete(CopyRow).where(CopyRow.article_id == article_id))
            refile_keys_of(conn, article_id, text_keys)
            return conn.execute(delete(ArticleRow).where(ArticleRow.id == article_id)).rowcount > 0

    def count_articles(self) -> int:
        with Session(self._reader) as conn:
            return int(conn.execute(select(func.count()).select_from(ArticleRow)).scalar_one())


def _copies_by_article(conn: Session, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = {}
    for chunk in chunks(ids):
        query = (
            select(CopyRow, FeedRow.url)
            .join(FeedRow, FeedRow.id == CopyRow.feed_id)
            .where(CopyRow.article_id.in_(chunk))
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
        # why the watchlists' concepts could not be read by meaning yet (None: nothing missed)
        "meaning_missed": a.meaning_missed,
    }
