"""Engines under evaluation: each reads a text and says which concepts it matched.

An engine is anything with a ``name`` and ``match(text) -> tuple[Found, ...]``, so a
second engine (lexical plus meaning) is one more class here and one more column in
the tables. A case is labelled against its own concept only, so the evaluation asks
only whether that concept is among those found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# ---- monitor imports: the only ones in bench/semantic (the package layout may change) ----
# isort: split
from monitor.core.types import ArticleText, Match
from monitor.match.engine import Matcher
from monitor.match.index import compile_index
from monitor.watchlist.load import load_watchlist

# isort: split
# -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Found:
    """A concept an engine matched in a text, and what it saw (for the error file)."""

    concept: str
    evidence: str


class Engine(Protocol):
    name: str

    def match(self, text: str) -> tuple[Found, ...]: ...


class LexicalEngine:
    """Today's keyword matcher over the evaluation watchlist.

    The case's text is the article's body and its title is empty: cases are one to
    three sentences, most of them not headlines, and a copy in the title would only
    count each term twice in the score (no rule here has a ``min_score``). Each rule
    of concepts.yaml is named after the one concept it requires, so a rule matched
    is that concept matched.
    """

    name = "lexical"

    def __init__(self, watchlist: Path) -> None:
        self._matcher = Matcher(compile_index([load_watchlist(watchlist)], ("en",), "en"))

    def match(self, text: str) -> tuple[Found, ...]:
        article = ArticleText(article_id="case", title="", body=text, language="en")
        return tuple(Found(m.rule, _evidence(m, text)) for m in self._matcher.match(article))


def _evidence(match: Match, body: str) -> str:
    """The terms that hit, each with the words it covered ("job cuts: 'cutting 2,000 jobs'")."""
    return "; ".join(
        f"{t.term}: " + ", ".join(repr(body[start:end]) for _field, start, end in t.hits)
        for t in match.terms
    )
