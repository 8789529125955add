"""Rules decided again where meaning changes what the listed terms found.

    Judge.read_many(articles)          each article's sentences read by meaning
      | Reading.hits(concept)          sentences that mean a concept (monitor.meaning)
      | Reading.veto(concept, span)    a listed term found in a sentence meaning else
      | MeaningOverlay.revise(...)     only the rules naming such a concept decided
                                       again: their terms, plus ``≈ meaning`` hits,
                                       minus the vetoed ones

Everything else is the lexical decision, untouched: a rule naming no concept matched
by meaning gets exactly the Match today's engine gives.

How a meaning hit counts: it is one more term of its concept, found once. Its
weight is 1 when its sentence also holds a hit of another actor or concept the rule
names (or the rule names only that concept), and ``APART`` (0.5) when the others
were found only in other sentences: "troops were sent" in one paragraph and North
Korea in an unrelated one is weaker evidence than both in one sentence. The rule's
weight for the concept multiplies it, like any term's, and ``min_score`` applies
to the total.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from monitor.core.types import Hit, Match, TermHits
from monitor.match._rules import MAX_COUNTED, Evaluation, Found, field_mask, snippet
from monitor.match.filters import filtered_out, filters
from monitor.match.index import CompiledRule, Index
from monitor.match.scan import Occurrence, ScannedArticle
from monitor.match.values import Ref, Watchlist
from monitor.meaning.judge import ConceptText, MeaningHit, MeaningVeto

APART = 0.5  # a meaning hit's weight when the rule's other refs are in other sentences
MEANING_TERM = "≈ meaning"  # how a meaning hit is named among a rule's terms


class Reading(Protocol):
    def hits(self, concept_key: str) -> tuple[MeaningHit, ...]: ...

    def veto(self, concept_key: str, field: str, start: int, end: int) -> MeaningVeto | None: ...


class Judge(Protocol):
    def read_many(self, articles: Sequence[tuple[str, str]]) -> Sequence[Reading]: ...


def concept_key(watchlist: Watchlist, ref: Ref | str) -> str:
    """How the judge names a concept: its watchlist's name and its own."""
    return f"{watchlist.name}/{ref if isinstance(ref, str) else ref.name}"


def concept_texts(watchlists: Sequence[Watchlist]) -> list[ConceptText]:
    """The concepts matched by meaning: those of a rule, with meaning on."""
    out = []
    for watchlist in watchlists:
        used = {name for rule in watchlist.rules for name in (*rule.positive, *rule.none)}
        for ref in watchlist.refs:
            settings = watchlist.meaning_of(ref)
            if ref.kind != "concept" or ref.name not in used or not settings.enabled:
                continue
            out.append(
                ConceptText(
                    key=concept_key(watchlist, ref),
                    name=ref.name,
                    description=ref.description,
                    terms=tuple(term.source for term in ref.terms),
                    examples=ref.examples,
                    not_examples=ref.not_examples,
                    threshold=settings.threshold,
                    veto=bool(settings.veto),
                )
            )
    return out


@dataclass(frozen=True, slots=True)
class Counted:
    """A meaning hit as a rule counts it."""

    hit: MeaningHit
    weight: float  # 1, or APART
    apart_from: tuple[str, ...] = ()  # the rule's refs found only in other sentences


@dataclass(frozen=True, slots=True)
class Revised:
    """One rule decided with meaning: the match (None: no match), and the evidence."""

    compiled: CompiledRule
    match: Match | None
    score: float
    reasons: tuple[str, ...]
    meaning: tuple[tuple[str, Counted], ...]  # concept name, its hit
    vetoed: tuple[tuple[str, MeaningVeto], ...]  # concept name, why its term was vetoed


class MeaningOverlay:
    """The rules of an index that name concepts matched by meaning, and their keys."""

    def __init__(self, index: Index, concepts: Sequence[ConceptText]) -> None:
        self.index = index
        self.concepts = {concept.key: concept for concept in concepts}
        # rule id → (concept name, key) of each concept it names that meaning reads
        self.rule_concepts: dict[int, tuple[tuple[str, str], ...]] = {}
        for rule_id, compiled in enumerate(index.rules):
            names = (*compiled.rule.positive, *compiled.rule.none)
            keyed = tuple(
                (name, key)
                for name in dict.fromkeys(names)
                if (key := concept_key(compiled.watchlist, name)) in self.concepts
            )
            if keyed:
                self.rule_concepts[rule_id] = keyed

    def wants(self, scanned: ScannedArticle) -> bool:
        """Whether meaning could change a rule for this article: some rule naming a
        concept that meaning reads has what it needs besides such concepts (the actors
        of its ``all``, one of its ``any``; its languages and feeds). The cheapest first
        test: names survive paraphrase, so an article that names none of a rule's
        required actors is not read by the model for it."""
        found = Found(scanned)
        return any(
            self._could_match(scanned, found, rule_id, {name for name, _ in keyed})
            for rule_id, keyed in self.rule_concepts.items()
        )

    def _could_match(
        self, scanned: ScannedArticle, found: Found, rule_id: int, read: set[str]
    ) -> bool:
        compiled = self.index.rules[rule_id]
        if compiled.filters and filtered_out(scanned, compiled):
            return False
        mask, rule = field_mask(compiled.rule.fields), compiled.rule

        def present(name: str) -> bool:
            return name in read or bool(found.get(compiled.refs[name], mask).terms)

        return all(map(present, rule.all)) and (not rule.any or any(map(present, rule.any)))

    def revise(
        self, scanned: ScannedArticle, reading: Reading, lexical: list[Match]
    ) -> list[Match]:
        """The lexical matches, with the rules that meaning changes decided again."""
        found, out = Found(scanned), {(m.watchlist, m.rule): m for m in lexical}
        for rule_id, keyed in self.rule_concepts.items():
            if not any(
                reading.hits(key) or self._has_terms(found, rule_id, name) for name, key in keyed
            ):
                continue
            revised = self.decide(found, rule_id, reading)
            name = (revised.compiled.watchlist.name, revised.compiled.rule.name)
            if revised.match is None:
                out.pop(name, None)
            else:
                out[name] = revised.match
        return list(out.values())

    def _has_terms(self, found: Found, rule_id: int, name: str) -> bool:
        compiled = self.index.rules[rule_id]
        return bool(found.get(compiled.refs[name], field_mask(compiled.rule.fields)).terms)

    def decide(self, found: Found, rule_id: int, reading: Reading) -> Revised:
        return _RuleWithMeaning(found, self.index.rules[rule_id], self, reading).revised()


class _RuleWithMeaning(Evaluation):
    """One rule decided with meaning; ``Evaluation`` gives the lexical hits."""

    __slots__ = ("_kept", "_meaning", "_overlay", "_reading", "_vetoed")

    def __init__(
        self, found: Found, compiled: CompiledRule, overlay: MeaningOverlay, reading: Reading
    ) -> None:
        super().__init__(found, compiled)
        self._overlay, self._reading = overlay, reading
        self._kept: dict[str, list[tuple[str, float, list[Occurrence]]]] = {}
        self._vetoed: list[tuple[str, MeaningVeto]] = []
        self._meaning: dict[str, MeaningHit] = {}
        mask = field_mask(compiled.rule.fields)
        for name in dict.fromkeys((*compiled.rule.positive, *compiled.rule.none)):
            self._read(name, mask)

    def _read(self, name: str, mask: int) -> None:
        key = concept_key(self.compiled.watchlist, name)
        concept = self._overlay.concepts.get(key)
        terms = self.hits(name)
        if concept is not None and concept.veto and terms:
            terms = self._unvetoed(name, key, terms)
        self._kept[name] = terms
        if concept is not None:
            hits = self._reading.hits(key)
            hit = next((h for h in hits if mask & field_mask([h.sentence.field])), None)
            if hit is not None:
                self._meaning[name] = hit

    def _unvetoed(
        self, name: str, key: str, terms: list[tuple[str, float, list[Occurrence]]]
    ) -> list[tuple[str, float, list[Occurrence]]]:
        kept = []
        for source, weight, occurrences in terms:
            left = []
            for occurrence in occurrences:
                field, start, end = self._span(occurrence)
                veto = self._reading.veto(key, field, start, end)
                if veto is None:
                    left.append(occurrence)
                else:
                    self._vetoed.append((name, veto))
            if left:
                kept.append((source, weight, left))
        return kept

    def _span(self, occurrence: Occurrence) -> Hit:
        places = self.scanned.places(occurrence)
        return places[0][0], places[0][1], places[-1][2]

    # The decision ---------------------------------------------------------------

    def revised(self) -> Revised:
        counted = {name: self._counted(name, hit) for name, hit in self._meaning.items()}
        reasons = [*_filters_of(self)]
        if not reasons:
            reasons = [*self._missing(counted)]
        score = sum(self._score_of(name, counted) for name in self.rule.positive)
        if not reasons and score < self.rule.min_score:
            reasons.append(f"score {score:g} is below min_score {self.rule.min_score:g}")
        match = None if reasons else self._match(score, counted)
        meaning = tuple((name, counted[name]) for name in self.rule.positive if name in counted)
        return Revised(self.compiled, match, score, tuple(reasons), meaning, tuple(self._vetoed))

    def _present(self, name: str, counted: dict[str, Counted]) -> bool:
        return bool(self._kept[name]) or name in counted

    def _missing(self, counted: dict[str, Counted]) -> Iterator[str]:
        rule = self.rule
        for name in rule.all:
            if not self._present(name, counted):
                yield f"'{name}' (all) does not occur{self._why_not(name)}"
        if rule.any and not any(self._present(name, counted) for name in rule.any):
            why = next(filter(None, map(self._why_not, rule.any)), "")
            yield f"none of {', '.join(rule.any)} (any) occurs{why}"
        for name in rule.none:
            if self._kept[name]:
                yield f"'{name}' (none) occurs: {self._kept[name][0][0]}"
            elif name in self._meaning:
                hit = self._meaning[name]
                yield f"'{name}' (none) occurs by meaning: {_quoted(hit.sentence.text)}"

    def _why_not(self, name: str) -> str:
        if self.vetoes(name):
            return " (every hit is inside an exclusion)"
        if any(vetoed == name for vetoed, _ in self._vetoed):
            return " (every hit is used in another sense)"
        return ""

    def _score_of(self, name: str, counted: dict[str, Counted]) -> float:
        base = sum(w * min(len(occs), MAX_COUNTED) for _, w, occs in self._kept[name])
        if name in counted:
            base += counted[name].weight
        return float(self.compiled.weights.get(name, 1.0)) * base

    def _counted(self, name: str, hit: MeaningHit) -> Counted:
        """Its weight: 1 if the rule's other refs found (by their terms or by meaning)
        are in its sentence, or it has none; APART if one is only in other sentences."""
        sentence = hit.sentence
        apart = []
        for other in self.rule.positive:
            if other == name:
                continue
            spans = [self._span(o) for _, _, occs in self._kept[other] for o in occs]
            if other in self._meaning:
                theirs = self._meaning[other].sentence
                spans.append((theirs.field, theirs.start, theirs.end))
            if spans and not any(
                _inside(span, sentence.field, sentence.start, sentence.end) for span in spans
            ):
                apart.append(other)
        return Counted(hit, APART if apart else 1.0, tuple(apart))

    def _match(self, score: float, counted: dict[str, Counted]) -> Match:
        terms = [*self._lexical_terms()]
        for name, hit in ((n, c.hit) for n, c in counted.items()):
            sentence = hit.sentence
            label = f"{MEANING_TERM} {hit.similarity:.2f} (threshold {hit.threshold:.2f})"
            terms.append(TermHits(name, label, ((sentence.field, sentence.start, sentence.end),)))
        hits = [hit for term in terms for hit in term.hits]
        text, highlights = snippet(self.scanned.article, hits)
        return Match(
            self.compiled.watchlist.name,
            self.rule.name,
            score,
            tuple(terms),
            text,
            tuple(highlights),
        )

    def _lexical_terms(self) -> Iterator[TermHits]:
        for name in self.rule.positive:
            for source, _, occurrences in self._kept[name]:
                yield TermHits(name, source, self.scanned.places_of(occurrences))


def _inside(span: Hit, field: str, start: int, end: int) -> bool:
    return span[0] == field and start <= span[1] and span[2] <= end


def _quoted(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _filters_of(evaluation: Evaluation) -> Iterator[str]:
    return filters(evaluation.scanned, evaluation.compiled)
