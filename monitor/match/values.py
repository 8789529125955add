"""A watchlist as the matcher sees it: frozen values, checked when loaded.

Watchlist ─ refs: actors and concepts, each a set of Terms (and exclusions)
          └ rules: which refs must (all), may (any) and must not (none) occur
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

WordKind = Literal["stem", "exact", "prefix"]
Field = Literal["title", "body"]
FIELDS: tuple[Field, ...] = ("title", "body")


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a term, folded like article text (lower-cased unless the term keeps case)."""

    text: str
    kind: WordKind  # stem: any inflection; exact: this form only; prefix: ``deploy*``


@dataclass(frozen=True, slots=True)
class Pattern:
    """What a term looks for; equal patterns in many watchlists are matched once."""

    words: tuple[Word, ...] = ()
    # None: the words in this order, next to each other. A number: in any order,
    # with at most that many other words in the stretch they cover (NEAR/n).
    near: int | None = None
    match_case: bool = False
    regex: str | None = None


@dataclass(frozen=True, slots=True)
class Term:
    source: str  # as the user wrote it, for explanations
    pattern: Pattern
    weight: float = 1.0


RefKind = Literal["actor", "concept"]


@dataclass(frozen=True, slots=True)
class Ref:
    """An actor (a name and its aliases) or a concept (keywords and phrases)."""

    name: str
    kind: RefKind
    terms: tuple[Term, ...]
    exclude: tuple[Term, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    weights: tuple[tuple[str, float], ...] = ()
    min_score: float = 0.0
    fields: tuple[Field, ...] = FIELDS
    feeds: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    def weight(self, ref: str) -> float:
        return dict(self.weights).get(ref, 1.0)

    @property
    def positive(self) -> tuple[str, ...]:
        return self.all + self.any


@dataclass(frozen=True, slots=True)
class Watchlist:
    name: str
    source: str
    description: str = ""
    refs: tuple[Ref, ...] = ()
    rules: tuple[Rule, ...] = ()
    feeds: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    digest: str = field(default="", compare=False)  # of the file's bytes, to skip no-op reloads

    def ref(self, name: str) -> Ref:
        return next(ref for ref in self.refs if ref.name == name)
