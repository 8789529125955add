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
class Meaning:
    """Matching by meaning (optional extra ``monitor[semantic]``), as a file sets it.

    None: not set here; a concept's settings fall back on its watchlist's, then on
    DEFAULT_MEANING (``Watchlist.meaning_of``). Nothing is matched by meaning yet.
    """

    enabled: bool | None = None  # off: the concept matches by its listed terms only
    threshold: float | None = None  # similarity 0..1 a sentence needs; None: calibrated default
    veto: bool | None = None  # meaning may cancel a listed term used in another sense


DEFAULT_MEANING = Meaning(enabled=True, threshold=None, veto=True)


def _over(mine: Meaning | None, under: Meaning) -> Meaning:
    if mine is None:
        return under
    return Meaning(
        enabled=under.enabled if mine.enabled is None else mine.enabled,
        threshold=under.threshold if mine.threshold is None else mine.threshold,
        veto=under.veto if mine.veto is None else mine.veto,
    )


@dataclass(frozen=True, slots=True)
class Ref:
    """An actor (a name and its aliases) or a concept (keywords and phrases)."""

    name: str
    kind: RefKind
    terms: tuple[Term, ...]
    exclude: tuple[Term, ...] = ()
    # concepts only: sentences that should match by meaning, and sentences that must not
    examples: tuple[str, ...] = ()
    not_examples: tuple[str, ...] = ()
    meaning: Meaning | None = None
    description: str = ""  # concepts: what counts, in a line (the meaning model reads it)


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
    meaning: Meaning | None = None
    digest: str = field(default="", compare=False)  # of the file's bytes, to skip no-op reloads

    def ref(self, name: str) -> Ref:
        return next(ref for ref in self.refs if ref.name == name)

    def meaning_of(self, ref: Ref) -> Meaning:
        """A concept's settings for meaning, each from the concept, the watchlist or the default."""
        return _over(ref.meaning, _over(self.meaning, DEFAULT_MEANING))

    @property
    def uses_meaning(self) -> bool:
        """Whether the file says anything about meaning (examples, negatives, settings)."""
        return self.meaning is not None or any(
            ref.examples or ref.not_examples or ref.meaning is not None for ref in self.refs
        )
