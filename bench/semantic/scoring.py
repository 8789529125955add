"""Counts per engine and concept, and the cases each engine got wrong."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bench.semantic.cases import Case
from bench.semantic.engines import Engine, Found

POOLED = "pooled"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One case decided by one engine, on the case's own concept only."""

    case: Case
    fired: bool
    evidence: str

    @property
    def wrong(self) -> bool:
        return self.fired != (self.case.label == "positive")


@dataclass(frozen=True, slots=True)
class Score:
    """What an engine caught of one concept's cases (or of all, pooled)."""

    positives: int
    caught: int
    paraphrased: int
    paraphrased_caught: int
    false_hits: int  # traps and negatives that fired
    trap_hits: int

    @property
    def recall(self) -> float | None:
        return self.caught / self.positives if self.positives else None

    @property
    def paraphrase_recall(self) -> float | None:
        return self.paraphrased_caught / self.paraphrased if self.paraphrased else None

    @property
    def precision(self) -> float | None:
        fired = self.caught + self.false_hits
        return self.caught / fired if fired else None


def decide(engine: Engine, cases: Iterable[Case]) -> tuple[Verdict, ...]:
    return tuple(_verdict(case, engine.match(case.text)) for case in cases)


def _verdict(case: Case, found: Sequence[Found]) -> Verdict:
    mine = [f.evidence for f in found if f.concept == case.concept]
    return Verdict(case, bool(mine), "; ".join(mine))


def score(verdicts: Iterable[Verdict]) -> Score:
    vs = list(verdicts)
    positives = [v for v in vs if v.case.label == "positive"]
    paraphrased = [v for v in positives if v.case.paraphrased]
    false_hits = [v for v in vs if v.case.label != "positive" and v.fired]
    return Score(
        positives=len(positives),
        caught=sum(v.fired for v in positives),
        paraphrased=len(paraphrased),
        paraphrased_caught=sum(v.fired for v in paraphrased),
        false_hits=len(false_hits),
        trap_hits=sum(v.case.label == "trap" for v in false_hits),
    )


def scores(verdicts: Sequence[Verdict], concepts: Sequence[str]) -> dict[str, Score]:
    """Per concept, then pooled over all of them."""
    out = {c: score(v for v in verdicts if v.case.concept == c) for c in concepts}
    out[POOLED] = score(verdicts)
    return out
