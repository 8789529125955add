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

from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase

from monitor.core.types import ArticleText, Hit, Match
from monitor.match._rules import MAX_COUNTED, Evaluation, Found, decide
from monitor.match.index import CompiledRule, Index
from monitor.match.scan import Occurrence, ScannedArticle
from monitor.text.stems import language_code

__all__ = ["MAX_COUNTED", "Matcher", "RuleVerdict", "TermFound", "Veto"]


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


class Matcher:
    def __init__(self, index: Index) -> None:
        self.index = index

    def match(self, article: ArticleText) -> list[Match]:
        scanned = ScannedArticle(article, self.index).scan()
        return decide(scanned, self._candidates(scanned), _filtered_out)

    def explain(self, article: ArticleText) -> list[RuleVerdict]:
        """Every rule of every watchlist decided, matched or not, with reasons."""
        found = Found(ScannedArticle(article, self.index).scan())
        evaluations = [_Evaluation(found, compiled) for compiled in self.index.rules]
        return [evaluation.verdict(with_terms=True) for evaluation in evaluations]

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
        return _filters(self.scanned, self.compiled)


def _filters(scanned: ScannedArticle, compiled: CompiledRule) -> Iterator[str]:
    """Why the rule's languages or feeds leave the article out (nothing: they don't)."""
    article, watchlist, rule = scanned.article, compiled.watchlist, compiled.rule
    language = language_code(article.language) or scanned.index.default_language
    for allowed in (watchlist.languages, rule.languages):
        if allowed and language not in {language_code(a) for a in allowed}:
            yield f"language {language} is not one of {', '.join(allowed)}"
    for globs in (watchlist.feeds, rule.feeds):
        if globs and not _feed_matches(globs, article):
            yield f"feed {article.feed_url} is not one of {', '.join(globs)}"


def _filtered_out(scanned: ScannedArticle, compiled: CompiledRule) -> bool:
    return next(_filters(scanned, compiled), None) is not None


def _feed_matches(globs: tuple[str, ...], article: ArticleText) -> bool:
    names = [article.feed_url.lower(), (article.feed_title or "").lower()]
    return any(fnmatchcase(name, glob.lower()) for glob in globs for name in names)
