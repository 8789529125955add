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
from typing import Protocol

import structlog

from monitor.core.clock import Clock
from monitor.core.types import ArticleText, Match
from monitor.match.engine import Matcher

log = structlog.get_logger("monitor.match")


class MatchStore(Protocol):
    def pending_articles(self, limit: int) -> list[ArticleText]: ...

    def save_matches(
        self, results: Sequence[tuple[str, Sequence[Match]]], now: datetime
    ) -> int: ...

    def mark_all_matched(self, now: datetime) -> int: ...


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
        articles = matches = 0
        counts: dict[tuple[str, str], int] = {}
        while pending := self.store.pending_articles(self.batch):
            results = [(article.article_id, _match(matcher, article)) for article in pending]
            matches += self.store.save_matches(results, self.clock.now())
            articles += len(pending)
            for _, found in results:
                for match in found:
                    key = (match.watchlist, match.rule)
                    counts[key] = counts.get(key, 0) + 1
        by_rule = tuple((w, r, n) for (w, r), n in sorted(counts.items()))
        return MatchReport(articles, matches, by_rule)


def _match(matcher: Matcher, article: ArticleText) -> list[Match]:
    try:
        return matcher.match(article)
    except Exception:  # a bug on one article must not stop the others
        log.exception("match.internal_error", article=article.article_id)
        return []
