"""Rules decided for one article: which match, their scores and the reasons.

    ScannedArticle(article).scan()     where every term occurs (monitor.match.scan)
      | candidates                     the rules filed under what occurred, and the
                                       few that must always be asked
      | evaluate(rule)                 filters, all/any/none, exclusions, score
      | Match                          the terms that hit, where, and a snippet

A rule's score adds, for each actor or concept it names in ``all`` and ``any``,
the rule's weight for it times the weight of each term found (each term counted
at most three times, so one name repeated does not drown the others). Where
the terms of one actor or concept overlap, the longer hit wins: a bare "Korea"
inside "North Korea" is not counted again, and an exclusion ("Republic of Korea")
inside a longer hit of a term ("Democratic People's Republic of Korea") cancels
nothing; an exclusion cancels the hits it overlaps, and ``explain`` says which.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import structlog

from monitor.core.types import ArticleText, Hit, Match
from monitor.match._rules import MAX_COUNTED, Evaluation, Found, decide
from monitor.match.filters import filtered_out, filters
from monitor.match.index import Index
from monitor.match.meaning import Counted, Judge, MeaningOverlay, Reading
from monitor.match.scan import Occurrence, ScannedArticle
from monitor.meaning.judge import ConceptText, MeaningVeto

__all__ = ["MAX_COUNTED", "Matcher", "RuleVerdict", "TermFound", "Veto"]

log = structlog.get_logger("monitor.match")


@dataclass(frozen=True, slots=True)
class TermFound:
    """A term found in an article, for explanations: how many times (occurrences, as a
    reader counts them: "North Korea" twice is 2, not 4 words) and where each is."""

    ref: str
    term: str
    times: int
    spans: tuple[Hit, ...]  # per occurrence: its field, where it starts and ends


@dataclass(frozen=True, slots=True)
class Veto:
    """A hit of a term that an exclusion cancelled ("Korea" inside "South Korea")."""

    ref: str
    term: str
    span: Hit
    exclusion: str
    at: Hit  # where the exclusion was found


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    """One rule decided for one article, with the reasons when it did not match."""

    watchlist: str
    rule: str
    matched: bool
    score: float
    terms: tuple[TermFound, ...]
    reasons: tuple[str, ...] = ()
    vetoes: tuple[Veto, ...] = ()
    meaning: tuple[tuple[str, Counted], ...] = ()  # concept name, its sentence by meaning
    used_otherwise: tuple[tuple[str, MeaningVeto], ...] = ()  # terms meaning vetoed


@dataclass(frozen=True, slots=True)
class Matched:
    """A batch's matches, article by article, and why meaning could not read it (None:
    it did, or nothing asked it to)."""

    matches: list[list[Match]]
    meaning_missed: str | None = None


class Matcher:
    """The rules of an index decided for articles; with a ``judge`` (monitor.meaning),
    the ``concepts`` it reads match by meaning too (monitor.match.meaning).
    ``missing``: why concepts that should match by meaning cannot (no judge)."""

    def __init__(
        self,
        index: Index,
        judge: Judge | None = None,
        concepts: Sequence[ConceptText] = (),
        missing: str | None = None,
    ) -> None:
        self.index = index
        self.judge = judge if concepts else None
        self.overlay = MeaningOverlay(index, concepts) if self.judge is not None else None
        self.missing = missing if concepts and self.judge is None else None

    def match(self, article: ArticleText) -> list[Match]:
        return self.read([article]).matches[0]

    def match_many(self, articles: Sequence[ArticleText]) -> list[list[Match]]:
        return self.read(articles).matches

    def read(self, articles: Sequence[ArticleText]) -> Matched:
        """Each article's matches; meaning reads them all in one batch."""
        scanned = [ScannedArticle(article, self.index).scan() for article in articles]
        lexical = [decide(one, self._candidates(one), filtered_out) for one in scanned]
        if self.overlay is None:
            return Matched(lexical, self.missing)
        wanted = [i for i, one in enumerate(scanned) if self.overlay.wants(one)]
        readings, failed = self._readings([articles[i] for i in wanted])
        if readings is None:
            return Matched(lexical, failed)
        for i, reading in zip(wanted, readings, strict=True):
            lexical[i] = self.overlay.revise(scanned[i], reading, lexical[i])
        return Matched(lexical)

    def explain(self, article: ArticleText) -> list[RuleVerdict]:
        """Every rule of every watchlist decided, matched or not, with reasons."""
        found = Found(ScannedArticle(article, self.index).scan())
        evaluations = [_Evaluation(found, compiled) for compiled in self.index.rules]
        verdicts = [evaluation.verdict(with_terms=True) for evaluation in evaluations]
        readings, _ = self._readings([article])
        if readings is None or self.overlay is None:
            return verdicts
        for rule_id in self.overlay.rule_concepts:
            revised = self.overlay.decide(found, rule_id, readings[0])
            verdicts[rule_id] = replace(
                verdicts[rule_id],
                matched=revised.match is not None,
                score=revised.score,
                reasons=revised.reasons,
                meaning=revised.meaning,
                used_otherwise=revised.vetoed,
            )
        return verdicts

    def _readings(self, articles: Sequence[ArticleText]) -> tuple[Sequence[Reading] | None, str]:
        """The articles read by meaning, or None and why (the listed terms still
        match: a model failing mid-run loses no lexical match)."""
        if self.judge is None:
            return None, ""
        if not articles:
            return [], ""
        try:
            return self.judge.read_many([(a.title, a.body) for a in articles]), ""
        except Exception as exc:  # the model is a third party's; the terms must go on
            log.exception("meaning.failed", articles=len(articles))
            return None, f"the model failed: {type(exc).__name__}"

    def _candidates(self, scanned: ScannedArticle) -> list[int]:
        """The rules filed under the actors and concepts that occurred, whose required
        ones all occurred (and one of their ``any`` ones), and those always asked."""
        wakeup = self.index.wakeup
        return wakeup.candidates(scanned.found) if wakeup is not None else []


class _Evaluation(Evaluation):
    """One rule decided for one article, with its reasons: what each actor or concept
    found (``hits``), its score and terms are compiled (monitor.match._rules); the
    reasons are worded here."""

    __slots__ = ()

    def verdict(self, with_terms: bool = False) -> RuleVerdict:
        """The decision; the terms found are listed when it matched (or when asked)."""
        reasons = [*self._filtered()]
        if not reasons:
            reasons = [*self._missing()]
        score = sum(self._score(name) for name in self.rule.positive)
        if not reasons and score < self.rule.min_score:
            reasons.append(f"score {score:g} is below min_score {self.rule.min_score:g}")
        terms = tuple(self._found()) if with_terms or not reasons else ()
        name = self.compiled.watchlist.name
        vetoes = tuple(self._vetoes())
        return RuleVerdict(name, self.rule.name, not reasons, score, terms, tuple(reasons), vetoes)

    def _found(self) -> Iterator[TermFound]:
        for name in self.rule.positive:
            for source, _, occurrences in self.hits(name):
                spans = tuple(self._span(occurrence) for occurrence in occurrences)
                yield TermFound(name, source, len(occurrences), spans)

    def _vetoes(self) -> Iterator[Veto]:
        for name in dict.fromkeys((*self.rule.positive, *self.rule.none)):
            excluded = self.scanned.index.refs[self.compiled.refs[name]].excluded
            for source, occurrence, exclusion, at in self.vetoes(name):
                yield Veto(
                    name, source, self._span(occurrence), excluded[exclusion], self._span(at)
                )

    def _span(self, occurrence: Occurrence) -> Hit:
        """Where an occurrence is: from the start of its first word to the end of its last."""
        places = self.scanned.places(occurrence)
        return places[0][0], places[0][1], places[-1][2]

    def _missing(self) -> Iterator[str]:
        rule = self.rule
        for name in rule.all:
            if not self.hits(name):
                yield f"'{name}' (all) does not occur{self._vetoed(name)}"
        if rule.any and not any(self.hits(name) for name in rule.any):
            why = next(filter(None, map(self._vetoed, rule.any)), "")
            yield f"none of {', '.join(rule.any)} (any) occurs{why}"
        for name in rule.none:
            found = self.hits(name)
            if found:
                yield f"'{name}' (none) occurs: {found[0][0]}"

    def _vetoed(self, name: str) -> str:
        return " (every hit is inside an exclusion)" if self.vetoes(name) else ""

    def _filtered(self) -> Iterator[str]:
        return filters(self.scanned, self.compiled)
