"""The match stage: every article not yet matched goes through every watchlist.

    store.pending_articles(batch)       articles whose ``matched_at`` is NULL
      | matcher.match(article)          Matches (monitor.match.engine)
      | store.save_matches(results)     the matches and ``matched_at``, in one transaction

It runs after each poll cycle, and picks up whatever an earlier run left (a
crash between saving an article and matching it loses nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog

from monitor.core.clock import Clock
from monitor.core.types import ArticleText, Match
from monitor.match.engine import Matched, Matcher

log = structlog.get_logger("monitor.match")
MISSED_CHARS = 300  # the stored reason's length (articles.meaning_missed)


class MatchStore(Protocol):
    def pending_articles(self, limit: int) -> list[ArticleText]: ...

    def save_matches(
        self,
        results: Sequence[tuple[str, Sequence[Match]]],
        now: datetime,
        meaning_missed: str | None = None,
    ) -> int: ...

    def mark_all_matched(self, now: datetime) -> int: ...

    def missed_meaning(self, limit: int) -> list[ArticleText]: ...

    def matches_of(self, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]: ...


@dataclass(frozen=True, slots=True)
class MatchReport:
    articles: int = 0
    matches: int = 0
    by_rule: tuple[tuple[str, str, int], ...] = ()  # watchlist, rule, articles


class MatchStage:
    def __init__(
        self, store: MatchStore, matcher: Callable[[], Matcher], clock: Clock, batch: int = 200
    ) -> None:
        self.store, self.matcher, self.clock, self.batch = store, matcher, clock, batch

    def run(self) -> MatchReport:
        matcher = self.matcher()  # one version of the watchlists for the whole run
        if not matcher.index.rules:
            done = self.store.mark_all_matched(self.clock.now())
            return MatchReport(articles=done)
        counts: dict[tuple[str, str], int] = {}
        articles = matches = 0
        while pending := self.store.pending_articles(self.batch):
            matches += self._save(matcher, pending, counts, again=False)
            articles += len(pending)
        # Articles matched while the model was missing: read by meaning now it is back.
        while matcher.judge is not None and (missed := self.store.missed_meaning(self.batch)):
            added = self._save(matcher, missed, counts, again=True)
            if added < 0:
                break  # the model fails again: they wait for the next run
            matches += added
            articles += len(missed)  # checked again: the summary and metrics say so
        by_rule = tuple((w, r, n) for (w, r), n in sorted(counts.items()))
        return MatchReport(articles, matches, by_rule)

    def _save(
        self,
        matcher: Matcher,
        articles: list[ArticleText],
        counts: dict[tuple[str, str], int],
        again: bool,
    ) -> int:
        """The batch matched and saved: the matches added (-1: meaning failed ``again``
        on articles it had missed before, which are left as they were). ``counts``
        gets the new matches only: a match stored the first time was counted then."""
        matched = _match(matcher, articles)
        if matched.meaning_missed and again:
            return -1
        missed = matched.meaning_missed[:MISSED_CHARS] if matched.meaning_missed else None
        ids = [a.article_id for a in articles]
        known = _stored(self.store, ids) if again else set()
        results = list(zip(ids, matched.matches, strict=True))
        for article_id, found in results:
            for match in found:
                key = (match.watchlist, match.rule)
                if (article_id, *key) not in known:
                    counts[key] = counts.get(key, 0) + 1
        return self.store.save_matches(results, self.clock.now(), missed)


def _stored(store: MatchStore, ids: list[str]) -> set[tuple[str, str, str]]:
    stored = store.matches_of(ids)
    return {(a, m["watchlist"], m["rule"]) for a, found in stored.items() for m in found}


def _match(matcher: Matcher, articles: list[ArticleText]) -> Matched:
    """The batch's matches (meaning reads it in one go), else article by article."""
    try:
        return matcher.read(articles)
    except Exception:  # a bug on one article must not stop the others: find it
        log.exception("match.batch_failed", articles=len(articles))
        return Matched([_match_one(matcher, article) for article in articles])


def _match_one(matcher: Matcher, article: ArticleText) -> list[Match]:
    try:
        return matcher.match(article)
    except Exception:  # a bug on one article must not stop the others
        log.exception("match.internal_error", article=article.article_id)
        return []
