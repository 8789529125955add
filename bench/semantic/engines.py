"""Engines under evaluation: each reads a text and says which concepts it matched.

An engine is anything with a ``name`` and ``match(text) -> tuple[Found, ...]``, so a
second engine (lexical plus meaning) is one more class here and one more column in
the tables. A case is labelled against its own concept only, so the evaluation asks
only whether that concept is among those found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import yaml

# ---- monitor imports: the only ones in bench/semantic (the package layout may change) ----
# isort: split
from monitor.core.types import ArticleText, Match
from monitor.match.engine import Matcher
from monitor.match.index import compile_index
from monitor.meaning.judge import ConceptText, Judge, Reading, TextEncoder
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


class MeaningEngine:
    """Today's lexical matcher plus the judgement by meaning (monitor.meaning.judge).

    A concept fires when a lexical hit of it survives the judge's veto (a denial cue, a
    sentence far from the description) or when a sentence matches it by meaning.
    ``examples``: concept name -> example sentences (bench/semantic/examples.yaml), or
    none; the evaluation's concepts have none of their own.
    """

    def __init__(
        self,
        watchlist: Path,
        encoder: TextEncoder,
        examples: Mapping[str, Sequence[str]] | None = None,
        threshold: float | None = None,
        name: str = "lexical+meaning",
    ) -> None:
        self.name = name
        self._lexical = LexicalEngine(watchlist)
        spec = yaml.safe_load(watchlist.read_text())["concepts"]
        self._concepts = [
            ConceptText(
                key=key,
                name=key,
                description=concept["description"],
                terms=tuple(concept["terms"]),
                examples=tuple((examples or {}).get(key, ())),
                threshold=threshold,
            )
            for key, concept in spec.items()
        ]
        self.judge = Judge(encoder, self._concepts)

    def match(self, text: str) -> tuple[Found, ...]:
        reading = self.judge.read("", text)
        found: list[Found] = []
        for concept in self._concepts:
            evidence = self._lexical_kept(reading, concept.key, text)
            evidence += [
                f"≈ {h.similarity:.2f} ({h.nearest}): {h.sentence.text!r}"
                for h in reading.hits(concept.key)[:1]
            ]
            if evidence:
                found.append(Found(concept.key, "; ".join(evidence)))
        return tuple(found)

    def _lexical_kept(self, reading: Reading, key: str, text: str) -> list[str]:
        article = ArticleText(article_id="case", title="", body=text, language="en")
        kept: list[str] = []
        for match in self._lexical._matcher.match(article):
            if match.rule != key:
                continue
            for term in match.terms:
                for start, end in _spans(reading, term.hits):
                    if reading.veto(key, "body", start, end) is None:
                        kept.append(f"{term.term}: {text[start:end]!r}")
        return kept


def _spans(reading: Reading, hits: Sequence[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """A term's word hits joined per sentence, from its first word to its last: the span
    the daemon's matcher asks the veto about (monitor.match.meaning), so a negation
    between the words ("found not guilty") is inside it. Cases are bodies only."""
    joined: dict[int, tuple[int, int]] = {}
    for _field, start, end in hits:
        at = next(i for i, s in enumerate(reading.sentences) if s.start <= start < s.end)
        first, last = joined.get(at, (start, end))
        joined[at] = (min(first, start), max(last, end))
    return list(joined.values())
