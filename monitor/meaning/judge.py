"""The judgement by meaning: which sentences of an article report a concept, and which
listed terms of a concept stand in a sentence that means something else.

    article ─ split_article ─▶ sentences ─ encoder ─▶ vectors ─┐
    concepts ─ prototypes (description, terms, examples, not:) ┴▶ similarity per group
      ─▶ MeaningHit  (score ≥ threshold, no denial cue, not nearer a not: sentence)
      ─▶ MeaningVeto (for a lexical hit: a denial cue, score far below, or nearer a not:)

A concept is read as up to three groups of prototypes, each the concept in the user's
own words: its description, its terms (each as a short phrase), its examples. A
sentence's score is the mean over the groups of its best similarity in the group, so a
sentence close to one listed phrase alone ("tax cuts" near "job cuts") does not pass
unless it is also close to what the concept describes. The judge is pure given the
encoder: no clock, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from monitor.meaning.cues import denial_cue
from monitor.meaning.sentences import Sentence, split_article

__all__ = [
    "DEFAULT_THRESHOLD",
    "ConceptText",
    "Judge",
    "MeaningHit",
    "MeaningVeto",
    "Reading",
    "Sentence",
]

Vectors = npt.NDArray[np.float32]

# All four constants were tuned on the TUNE half of bench/semantic (cases.jsonl, 15
# concepts, no examples) with all-MiniLM-L6-v2 int8, pooled over concepts, never per
# concept; see bench/semantic/README.md "lexical + meaning".
# The threshold with the best F1 (lexical + meaning, cue and sense vetoes on).
DEFAULT_THRESHOLD = 0.27
# A lexical hit whose sentence is this far from the description is another sense of the
# word ("tax cuts", "a riot of colour"): the highest value that kept every tune
# positive the lexical engine catches.
VETO_BELOW = 0.25
# The cheap first test: title + lead against each concept's description and examples
# (never its terms: a paraphrase carries none). Below the gate for every concept, no
# sentence is scored. The highest of 0, 0.2, 0.3 that lost no tune positive (0.3 lost 8).
SCREEN_GATE = 0.20
LEAD_WORDS = 60


class TextEncoder(Protocol):
    """What the judge needs of monitor.meaning.encoder.Encoder."""

    name: str

    def encode(self, texts: Sequence[str]) -> Vectors: ...


@dataclass(frozen=True, slots=True)
class ConceptText:
    """What the model reads of one concept."""

    key: str  # unique: watchlist name + "/" + concept name
    name: str
    description: str
    terms: tuple[str, ...]
    examples: tuple[str, ...] = ()
    not_examples: tuple[str, ...] = ()
    threshold: float | None = None  # None: DEFAULT_THRESHOLD
    veto: bool = True


@dataclass(frozen=True, slots=True)
class MeaningHit:
    """A concept matched by meaning in one sentence."""

    concept: str
    sentence: Sentence
    similarity: float
    threshold: float
    nearest: str  # "description", "example: <text>", "term: <text>"


@dataclass(frozen=True, slots=True)
class MeaningVeto:
    """A listed term of the concept found in a sentence that means something else."""

    concept: str
    sentence: Sentence
    similarity: float
    why: str


@dataclass(frozen=True, slots=True)
class _Prototypes:
    """One concept's prototype sentences: labels, group of each, and the not: sentences."""

    labels: tuple[str, ...]
    groups: tuple[str, ...]  # "description" | "term" | "example"
    texts: tuple[str, ...]
    nots: tuple[str, ...]


def term_phrase(term: str) -> str:
    """A term as words the model can read: no ``*``, quotes or ``NEAR/n``."""
    return " ".join(re.sub(r"\bNEAR/\d+\b", " ", term).replace("*", "").replace('"', " ").split())


def prototypes(concept: ConceptText) -> _Prototypes:
    described = concept.description or concept.name.replace("_", " ")
    pairs = [("description", "description", described)]
    pairs += [(f"term: {t}", "term", term_phrase(t)) for t in concept.terms if term_phrase(t)]
    pairs += [(f"example: {e}", "example", e) for e in concept.examples]
    labels, groups, texts = zip(*pairs, strict=True)
    return _Prototypes(labels, groups, texts, concept.not_examples)


@dataclass(frozen=True, slots=True)
class _Scored:
    """One concept against some sentences: its score per sentence and the best label."""

    score: npt.NDArray[np.float64]
    description: npt.NDArray[np.float64]
    nearest: tuple[str, ...]
    not_best: npt.NDArray[np.float64]  # best similarity to a not: sentence (-1: none)
    not_label: tuple[str, ...]


class Judge:
    """Reads articles against concepts, given an encoder (one batched encode a call)."""

    def __init__(self, encoder: TextEncoder, concepts: Sequence[ConceptText]) -> None:
        self.encoder = encoder
        self.concepts = {c.key: c for c in concepts}
        self._protos = {c.key: prototypes(c) for c in concepts}
        texts = [t for p in self._protos.values() for t in (*p.texts, *p.nots)]
        vectors = encoder.encode(texts) if texts else np.zeros((0, 1), np.float32)
        self._vectors: dict[str, tuple[Vectors, Vectors]] = {}
        at = 0
        for key, p in self._protos.items():
            n, m = len(p.texts), len(p.nots)
            self._vectors[key] = (vectors[at : at + n], vectors[at + n : at + n + m])
            at += n + m
        # What the first test compares a lead with, all concepts at once: descriptions
        # and examples, never terms (a paraphrase carries none of them).
        screen = [
            pv[[g != "term" for g in self._protos[key].groups]]
            for key, (pv, _) in self._vectors.items()
        ]
        self._screen = np.vstack(screen) if screen else np.zeros((0, 1), np.float32)

    def read(self, title: str, body: str) -> Reading:
        return self.read_many([(title, body)])[0]

    def read_many(self, articles: Sequence[tuple[str, str]]) -> list[Reading]:
        """Every article read with two encodes in all: the leads, then the sentences kept."""
        leads = self.encoder.encode([lead(t, b) for t, b in articles]) if articles else None
        split = [split_article(t, b) for t, b in articles]
        kept = [i for i in range(len(articles)) if leads is not None and self._passes(leads[i])]
        flat = [s.text for i in kept for s in split[i]]
        vectors = self.encoder.encode(flat) if flat else np.zeros((0, 1), np.float32)
        readings = [Reading(self, split[i], None) for i in range(len(articles))]
        at = 0
        for i in kept:
            n = len(split[i])
            readings[i] = Reading(self, split[i], vectors[at : at + n])
            at += n
        return readings

    def nearest(
        self, concept_key: str, sentences: Sequence[str], top: int
    ) -> list[tuple[float, str]]:
        """The ``top`` sentences with the highest score for the concept, best first."""
        if not sentences:
            return []
        scored = self.score(concept_key, self.encoder.encode(sentences))
        order = np.argsort(-scored.score, kind="stable")[:top]
        return [(float(scored.score[i]), sentences[i]) for i in order]

    def score(self, key: str, vectors: Vectors) -> _Scored:
        protos, (pv, nv) = self._protos[key], self._vectors[key]
        sims = vectors.astype(np.float64) @ pv.T.astype(np.float64)
        groups = np.array(protos.groups)
        best = [sims[:, groups == g].max(axis=1) for g in dict.fromkeys(protos.groups)]
        nearest = tuple(protos.labels[j] for j in sims.argmax(axis=1))
        not_sims = vectors.astype(np.float64) @ nv.T.astype(np.float64) if len(nv) else None
        not_best = not_sims.max(axis=1) if not_sims is not None else np.full(len(vectors), -1.0)
        not_label = (
            tuple(protos.nots[j] for j in not_sims.argmax(axis=1))
            if not_sims is not None
            else ("",) * len(vectors)
        )
        return _Scored(np.mean(best, axis=0), best[0], nearest, not_best, not_label)

    def threshold(self, key: str) -> float:
        given = self.concepts[key].threshold
        return DEFAULT_THRESHOLD if given is None else given

    def _passes(self, lead_vector: Vectors) -> bool:
        """The cheap first test: the lead near some concept's description or examples."""
        return len(self._screen) > 0 and float((self._screen @ lead_vector).max()) >= SCREEN_GATE


def lead(title: str, body: str) -> str:
    """The title and the body's first LEAD_WORDS words: what the first test reads."""
    return " ".join([*title.split(), *body.split()[:LEAD_WORDS]])


@dataclass(slots=True)
class Reading:
    """One article read by meaning; hits and vetoes are worked out when asked."""

    judge: Judge
    sentences: tuple[Sentence, ...]
    vectors: Vectors | None  # None: screened out by the first test
    _scored: dict[str, _Scored] = field(default_factory=dict)

    @property
    def screened_out(self) -> bool:
        return self.vectors is None

    def hits(self, concept_key: str) -> tuple[MeaningHit, ...]:
        if self.vectors is None or not self.sentences:
            return ()
        scored, threshold = self._score(concept_key), self.judge.threshold(concept_key)
        found = [
            MeaningHit(concept_key, s, float(scored.score[i]), threshold, scored.nearest[i])
            for i, s in enumerate(self.sentences)
            if scored.score[i] >= threshold
            and denial_cue(s.text) is None
            and scored.not_best[i] <= scored.score[i]
        ]
        return tuple(sorted(found, key=lambda h: -h.similarity))

    def veto(self, concept_key: str, field: str, start: int, end: int) -> MeaningVeto | None:
        """For a lexical hit at these offsets: is its sentence judged another sense?"""
        if not self.judge.concepts[concept_key].veto:
            return None
        index = self._sentence_at(field, start)
        if index is None:
            return None
        s = self.sentences[index]
        scored = self._score(concept_key, index)
        i = 0 if self.vectors is None else index
        similarity = float(scored.description[i])
        why = _why(s, (start - s.start, end - s.start), scored, i)
        return None if why is None else MeaningVeto(concept_key, s, similarity, why)

    def _sentence_at(self, field: str, start: int) -> int | None:
        for i, s in enumerate(self.sentences):
            if s.field == field and s.start <= start < s.end:
                return i
        return None

    def _score(self, key: str, index: int | None = None) -> _Scored:
        if self.vectors is None:  # screened out: encode just the one sentence asked about
            assert index is not None
            vector = self.judge.encoder.encode([self.sentences[index].text])
            return self.judge.score(key, vector)
        if key not in self._scored:
            self._scored[key] = self.judge.score(key, self.vectors)
        return self._scored[key]


def _why(s: Sentence, focus: tuple[int, int], scored: _Scored, i: int) -> str | None:
    cue = denial_cue(s.text, focus)
    if cue is not None:
        return f"the sentence reports it did not happen ({cue.words!r})"
    if scored.description[i] < VETO_BELOW:
        return (
            f"similarity {scored.description[i]:.2f} to the description is below {VETO_BELOW:.2f}"
        )
    if scored.not_best[i] > scored.description[i]:
        return (
            f"nearer the not: sentence {scored.not_label[i]!r} "
            f"({scored.not_best[i]:.2f} > {scored.description[i]:.2f})"
        )
    return None
