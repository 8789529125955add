"""A rule's languages and feeds: which articles it leaves out, and why."""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase

from monitor.core.types import ArticleText
from monitor.match.index import CompiledRule
from monitor.match.scan import ScannedArticle
from monitor.text.stems import language_code


def filters(scanned: ScannedArticle, compiled: CompiledRule) -> Iterator[str]:
    """Why the rule's languages or feeds leave the article out (nothing: they don't)."""
    article, watchlist, rule = scanned.article, compiled.watchlist, compiled.rule
    language = language_code(article.language) or scanned.index.default_language
    for allowed in (watchlist.languages, rule.languages):
        if allowed and language not in {language_code(a) for a in allowed}:
            yield f"language {language} is not one of {', '.join(allowed)}"
    for globs in (watchlist.feeds, rule.feeds):
        if globs and not feed_matches(globs, article):
            yield f"feed {article.feed_url} is not one of {', '.join(globs)}"


def filtered_out(scanned: ScannedArticle, compiled: CompiledRule) -> bool:
    return next(filters(scanned, compiled), None) is not None


def feed_matches(globs: tuple[str, ...], article: ArticleText) -> bool:
    names = [article.feed_url.lower(), (article.feed_title or "").lower()]
    return any(fnmatchcase(name, glob.lower()) for glob in globs for name in names)
