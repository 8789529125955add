"""Routes and digests (and, through ``OutboxStorage``, the delivery outbox).

A part of the repository (``Repository`` takes these methods in). Only values
are mapped here: what a digest holds is ``monitor.alert``'s decision. A digest, the
matches it settles and its delivery are written in one transaction, so a crash
either loses the whole digest (its matches are still unsettled and go into the
next one) or keeps all of it (the delivery is in the outbox and will be sent).
Two workers building the same period collide on ``digests (route, period)`` and
on ``route_matches``; the one that loses rolls back and sends nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.core.alerting import (
    Candidate,
    NewDigest,
    RouteState,
    Selection,
    Settlement,
    Source,
    split_keys,
    story_key,
)
from monitor.core.errors import StorageError
from monitor.store import dbclock
from monitor.store.bulk import chunks
from monitor.store.models import (
    ArticleRow,
    CopyRow,
    DeliveryRow,
    DigestRow,
    FeedRow,
    MatchRow,
    RouteMatchRow,
    RouteRow,
)
from monitor.store.outbox import OutboxStorage

_ROUTE = (
    RouteRow.selector,
    RouteRow.since,
    RouteRow.last_end,
    RouteRow.last_key,
    RouteRow.disabled_reason,
)


class AlertStorage(OutboxStorage):
    engine: Engine
    _reader: Engine

    def sync_route(
        self, name: str, selector: str, initial_end: datetime | None, start: datetime
    ) -> RouteState:
        """The route's state, created on first sight; a changed selection starts afresh.

        ``start``: where a new route's (or a changed selection's) matches begin.
        """
        since = start
        try:
            with self.engine.begin() as conn:
                route = conn.execute(select(*_ROUTE).where(RouteRow.name == name)).first()
                if route is None:
                    conn.execute(
                        insert(RouteRow).values(
                            name=name, selector=selector, since=since, last_end=initial_end
                        )
                    )
                    return RouteState(name, since, initial_end, None, None)
                if route.selector != selector:
                    conn.execute(
                        update(RouteRow)
                        .where(RouteRow.name == name)
                        .values(selector=selector, since=since)
                    )
                else:
                    since = route.since
                return RouteState(
                    name, since, route.last_end, route.last_key, route.disabled_reason
                )
        except IntegrityError:  # another worker created it at the same moment
            return self.sync_route(name, selector, initial_end, start)
        except SQLAlchemyError as exc:
            raise StorageError(f"route {name}: {exc}") from exc

    def alert_candidates(self, selection: Selection) -> list[Candidate]:
        """Matches the route has not settled yet, oldest first."""
        settled = RouteMatchRow
        query = (
            select(
                MatchRow.id,
                MatchRow.watchlist,
                MatchRow.rule,
                MatchRow.score,
                MatchRow.terms,
                MatchRow.snippet,
                MatchRow.highlights,
                ArticleRow.id,
                ArticleRow.title,
                ArticleRow.url,
                ArticleRow.published_at,
                ArticleRow.duplicate_of,
                ArticleRow.story_id,
                FeedRow.title,
                FeedRow.url,
                MatchRow.matched_at,
            )
            .join(ArticleRow, ArticleRow.id == MatchRow.article_id)
            .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
            .outerjoin(
                settled,
                and_(settled.route == selection.route, settled.match_id == MatchRow.id),
            )
            .where(
                settled.match_id.is_(None),
                MatchRow.matched_at >= selection.since,
                MatchRow.score >= selection.min_score,
            )
            .order_by(MatchRow.id)
            .limit(selection.limit)
        )
        if selection.watchlists:
            query = query.where(MatchRow.watchlist.in_(selection.watchlists))
        if selection.rules:
            query = query.where(or_(*(_rule_is(*rule) for rule in selection.rules)))
        if selection.settled_before is not None:
            # Wait for the near stage (its story decides the digest entry), but not
            # for ever: an article it could not compare is sent on its own.
            query = query.where(
                or_(
                    ArticleRow.near_at.is_not(None),
                    MatchRow.matched_at < selection.settled_before,
                )
            )
        with Session(self._reader) as conn:
            return [_candidate(row) for row in conn.execute(query)]

    def still_arriving(self, before: datetime, near: bool) -> bool:
        """Whether news from before ``before`` is still on its way: a poll that began
        then is in flight (its lease runs), or an article seen then is not matched
        yet (or, with ``near``, not compared)."""
        dialect = self.engine.dialect.name
        polling = (
            select(FeedRow.id)
            .where(FeedRow.leased_at <= before, ~dbclock.expired(FeedRow.lease_until, dialect))
            .limit(1)
        )
        waiting: Any = ArticleRow.matched_at.is_(None)
        if near:
            waiting = or_(waiting, ArticleRow.near_at.is_(None))
        pending = select(ArticleRow.id).where(ArticleRow.first_seen_at <= before, waiting).limit(1)
        try:
            with self._reader.connect() as conn:
                return any(conn.execute(query).first() is not None for query in (polling, pending))
        except SQLAlchemyError as exc:
            raise StorageError(f"could not tell whether polls are in flight: {exc}") from exc

    def advance_since(self, route: str, since: datetime) -> None:
        """Matches before ``since`` are all settled: later queries need not look at them."""
        with self.engine.begin() as conn:
            conn.execute(
                update(RouteRow)
                .where(RouteRow.name == route, RouteRow.since < since)
                .values(since=since)
            )

    def count_digests(self, route: str, kinds: Sequence[str], since: datetime) -> int:
        """How many digests of these ``kinds`` the route has made since ``since``."""
        query = select(func.count(DigestRow.id)).where(
            DigestRow.route == route,
            DigestRow.kind.in_(kinds),
            DigestRow.created_at > since,
        )
        try:
            with self._reader.connect() as conn:
                return int(conn.execute(query).scalar_one())
        except SQLAlchemyError as exc:
            raise StorageError(f"route {route}: could not count its alerts: {exc}") from exc

    def sent_rules(self, route: str, keys: Sequence[str]) -> dict[str, set[tuple[str, str]]]:
        """The (watchlist, rule) pairs already sent per story key of this route.

        Judged by the stories the sent articles belong to now, not only by the key
        they were sent under: an article sent alone (its near stage late) that has
        since joined a story makes that story's rule sent too.
        """
        found: dict[str, set[tuple[str, str]]] = {}
        stories, roots = split_keys(keys)
        sent = (
            select(
                RouteMatchRow.story_key,
                ArticleRow.story_id,
                func.coalesce(ArticleRow.duplicate_of, ArticleRow.id),
                MatchRow.watchlist,
                MatchRow.rule,
            )
            .join(MatchRow, MatchRow.id == RouteMatchRow.match_id)
            .join(ArticleRow, ArticleRow.id == MatchRow.article_id)
            .where(RouteMatchRow.route == route, RouteMatchRow.digest_id.is_not(None))
        )
        with Session(self._reader) as conn:
            for chunk in chunks(keys):
                rows = conn.execute(sent.where(RouteMatchRow.story_key.in_(chunk)))
                _add_sent(found, rows, stories, roots)
            for story_chunk in chunks(list(stories)):
                rows = conn.execute(sent.where(ArticleRow.story_id.in_(story_chunk)))
                _add_sent(found, rows, stories, roots)
            for root_chunk in chunks(list(roots)):
                joined = or_(ArticleRow.id.in_(root_chunk), ArticleRow.duplicate_of.in_(root_chunk))
                _add_sent(found, conn.execute(sent.where(joined)), stories, roots)
        return found

    def story_sources(self, keys: Sequence[str]) -> dict[str, list[Source]]:
        """Every outlet that carried each story: its articles and their exact copies."""
        stories, articles = split_keys(keys)
        found: dict[str, list[Source]] = {}
        with Session(self._reader) as conn:
            for ids in chunks(list(stories)):
                query = (
                    select(ArticleRow.id, ArticleRow.story_id, ArticleRow.title, ArticleRow.url)
                    .add_columns(FeedRow.title, FeedRow.url)
                    .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
                    .where(ArticleRow.story_id.in_(ids))
                    .order_by(ArticleRow.published_at, ArticleRow.id)
                )
                for article_id, story, title, url, feed_title, feed_url in conn.execute(query):
                    key = stories[story]
                    articles.setdefault(article_id, key)
                    source = Source(feed_title or feed_url, title, url, article_id)
                    found.setdefault(key, []).append(source)
            _add_copies(conn, articles, found)
        return found

    def save_digest(self, new: NewDigest, end: datetime | None, now: datetime) -> int | None:
        """Digest, settled matches and delivery in one transaction; None if built elsewhere.

        ``end`` advances the route's schedule (None for an instant alert).
        """
        try:
            with self.engine.begin() as conn:
                digest_id = conn.execute(
                    insert(DigestRow)
                    .values(
                        route=new.route,
                        kind=new.kind,
                        period=new.period,
                        subject=new.subject,
                        entries=new.entries,
                        more=new.more,
                        created_at=now,
                    )
                    .returning(DigestRow.id)
                ).scalar_one()
                _settle(conn, new.route, new.settlement, digest_id)
                # Every digest the stage saves is meant to go out: an empty one is
                # saved only for a route with ``send_empty`` ("nothing new today"),
                # which a condition on the digest's entries here silently dropped.
                conn.execute(insert(DeliveryRow).values(_delivery(new, digest_id, now)))
                if end is not None:
                    _advance(conn, new.route, end, new.period)
                return int(digest_id)
        except IntegrityError as exc:
            if _built_elsewhere(exc):
                return None
            raise StorageError(f"route {new.route}: could not save the digest: {exc}") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"route {new.route}: could not save the digest: {exc}") from exc

    def settle_only(
        self, route: str, settlement: Settlement, end: datetime | None, key: str
    ) -> None:
        """Nothing to send (no story is news, or a repeated local hour): record and go on."""
        try:
            with self.engine.begin() as conn:
                _settle(conn, route, settlement, None)
                if end is not None:
                    _advance(conn, route, end, key)
        except IntegrityError as exc:
            if not _built_elsewhere(exc):  # else another worker settled them
                raise StorageError(f"route {route}: {exc}") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"route {route}: {exc}") from exc

    def route_states(self) -> dict[str, RouteState]:
        with Session(self._reader) as conn:
            return {
                r.name: RouteState(r.name, r.since, r.last_end, r.last_key, r.disabled_reason)
                for r in conn.execute(select(RouteRow)).scalars()
            }


def _built_elsewhere(exc: IntegrityError) -> bool:
    """Another worker's digest of this period, or its settling of these matches."""
    text = str(exc.orig)
    return any(
        mark in text
        for mark in ("uq_digests_route", "pk_route_matches", "digests.route", "route_matches.route")
    )


def _settle(conn: Any, route: str, settlement: Settlement, digest_id: int | None) -> None:
    rows = [
        {
            "route": route,
            "match_id": match_id,
            "story_key": key,
            "digest_id": digest_id if key in settlement.told else None,
        }
        for match_id, key in settlement.matches
    ]
    for chunk in chunks(rows):
        conn.execute(insert(RouteMatchRow), chunk)


def _add_sent(
    found: dict[str, set[tuple[str, str]]],
    rows: Any,
    stories: dict[int, str],
    roots: dict[str, str],
) -> None:
    """File each sent (watchlist, rule) under every asked key its article answers to."""
    asked = {*stories.values(), *roots.values()}
    for stored_key, story_id, root, watchlist, rule in rows:
        for key in (stored_key, stories.get(story_id), roots.get(root)):
            if key is not None and key in asked:
                found.setdefault(key, set()).add((watchlist, rule))


def _rule_is(watchlist: str, name: str) -> Any:
    if watchlist:
        return and_(MatchRow.watchlist == watchlist, MatchRow.rule == name)
    return MatchRow.rule == name


def _candidate(row: Any) -> Candidate:
    (match_id, watchlist, rule, score, terms, snippet, highlights) = row[:7]
    (article_id, title, url, published, duplicate_of, story_id, feed_title, feed_url) = row[7:15]
    return Candidate(
        match_id=match_id,
        story_key=story_key(story_id, duplicate_of or article_id),
        article_id=article_id,
        watchlist=watchlist,
        rule=rule,
        score=score,
        terms=tuple(dict.fromkeys(t["term"] for t in json.loads(terms))),
        snippet=snippet,
        highlights=tuple((a, b) for a, b in json.loads(highlights)),
        title=title,
        url=url,
        source=feed_title or feed_url,
        published=published,
        is_copy=duplicate_of is not None,
        matched_at=row[15],
    )


def _add_copies(conn: Session, articles: dict[str, str], found: dict[str, list[Source]]) -> None:
    """Exact copies seen in other feeds are stored as links to the article."""
    for ids in chunks(list(articles)):
        query = (
            select(CopyRow.article_id, CopyRow.title, CopyRow.url, FeedRow.title, FeedRow.url)
            .join(FeedRow, FeedRow.id == CopyRow.feed_id)
            .where(CopyRow.article_id.in_(ids))
            .order_by(CopyRow.seen_at, CopyRow.id)
        )
        for article_id, title, url, feed_title, feed_url in conn.execute(query):
            key = articles[article_id]
            found.setdefault(key, []).append(Source(feed_title or feed_url, title, url, article_id))


def _advance(conn: Any, route: str, end: datetime, key: str) -> None:
    conn.execute(update(RouteRow).where(RouteRow.name == route).values(last_end=end, last_key=key))


def _delivery(new: NewDigest, digest_id: int, now: datetime) -> dict[str, Any]:
    return {
        "digest_id": digest_id,
        "route": new.route,
        "channel": new.channel,
        "state": "pending",
        "message_id": new.message_id,
        "payload": new.payload,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
