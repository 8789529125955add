"""Build a watchlist from a few lines of YAML and ask which rules an article matches."""

from __future__ import annotations

import textwrap
from typing import Any

import yaml

from monitor.core.types import ArticleText, Match
from monitor.match.engine import Matcher
from monitor.match.index import compile_index
from monitor.watchlist.load import parse_watchlist


def matcher(yaml: str, languages: tuple[str, ...] = ("en",)) -> Matcher:
    watchlist = parse_watchlist(textwrap.dedent(yaml).encode(), "test.yaml", "test")
    return Matcher(compile_index([watchlist], languages))


def concept(*terms: str, near: int | None = None) -> Matcher:
    """One concept of ``terms`` and one rule that needs it."""
    spec: dict[str, Any] = {"terms": list(terms)} | ({"near": near} if near is not None else {})
    return _one_ref("concepts", spec)


def actor(*aliases: str, exclude: tuple[str, ...] = ()) -> Matcher:
    return _one_ref("actors", {"aliases": list(aliases), "exclude": list(exclude)})


def _one_ref(section: str, spec: dict[str, Any]) -> Matcher:
    return matcher(yaml.safe_dump({section: {"x": spec}, "rules": {"r": {"all": ["x"]}}}))


def article(body: str, title: str = "", language: str | None = "en", **extra: str) -> ArticleText:
    return ArticleText("a1", title, body, language, **extra)


def hits(found: list[Match]) -> list[str]:
    return sorted(f"{m.watchlist}/{m.rule}" for m in found)


def matched_text(found: list[Match], art: ArticleText) -> list[str]:
    """The stored text of every hit, as a user would see it highlighted."""
    texts = {"title": art.title, "body": art.body}
    return [texts[f][s:e] for m in found for t in m.terms for f, s, e in t.hits]
