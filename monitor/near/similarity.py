"""How alike two sketches are, and whether one article is a copy of the other.

Pure: no I/O. The thresholds come from the evaluation in ``bench/neardup.py``
(see bench/README.md, "Near-duplicate evaluation", for the numbers behind them).

A pair is a copy when one of these holds:

    reprint   nearly all of the shorter text's word shingles are in the other
              (boilerplate added, a headline rewritten, a paragraph dropped):
              containment ≥ ``containment``; "partial" when the shorter has
              less than ``partial_length`` of the longer's shingles (a copy
              cut to its lead)
    reprint   both views agree strongly (a few words edited or swapped):
              words ≥ ``words`` and masked ≥ ``masked_strong``
    spun      the masked view agrees, and more than the word view does:
              masked ≥ ``masked``, masked ≥ words + ``spun_margin`` and
              names ≥ ``spun_names`` (a spinner leaves names alone). A
              spinner swaps content words and leaves the function words, so
              only the word view drops; an article that shares paragraphs
              with another (a developing story's update) loses both views alike.

and, whatever the reason, the names and numbers of the shorter text are mostly
in the longer one (a copy keeps "Rutte", "Kursk" and "32") and both appeared
within the time window. Verdicts use exact measures on the two texts; only a
candidate whose body was purged is judged on its sketch's estimates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from monitor.near import _sketch
from monitor.near.sketch import Array, Shingles, Sketch

DECISIVE = 0.9


@dataclass(frozen=True, slots=True)
class Thresholds:
    containment: float = 0.87
    partial_length: float = 0.7
    words: float = 0.6
    masked_strong: float = 0.7
    masked: float = 0.25
    spun_margin: float = 0.03
    spun_names: float = 0.8
    names: float = 0.6
    min_shingles: int = 8  # a shorter text than this inside another proves nothing
    window: timedelta = timedelta(days=7)
    # Sketch estimates below these rule a pair out before its texts are compared.
    prefilter: float = 0.1
    prefilter_names: float = 0.4


@dataclass(frozen=True, slots=True)
class Similarity:
    words: float  # estimated Jaccard similarity of the word shingles
    masked: float  # the same, masked view
    containment: float  # share of the shorter text's shingles found in the longer
    names: float  # share of the shorter text's names and numbers found in the other
    length: float  # shingles of the shorter text over those of the longer
    shorter: int  # shingles of the shorter text
    exact: bool = False  # computed on the texts (else estimated from stored sketches)

    def as_dict(self) -> dict[str, float | bool]:
        return {
            "words": round(self.words, 3),
            "masked": round(self.masked, 3),
            "containment": round(self.containment, 3),
            "names": round(self.names, 3),
            "length": round(self.length, 3),
            "exact": self.exact,
        }


def exact(a: Shingles, b: Shingles) -> Similarity:
    """The same measures computed on the full shingle sets: what a verdict rests on."""
    words, containment = _overlap(a.words, b.words)
    masked, _ = _overlap(a.masked, b.masked)
    small, large = sorted((a.names, b.names), key=len)
    names = len(small & large) / len(small) if small else 1.0  # no names: nothing against
    length = min(len(a.words), len(b.words)) / max(len(a.words), len(b.words), 1)
    shorter = min(len(a.words), len(b.words))
    return Similarity(words, masked, containment, names, length, shorter, exact=True)


def _overlap(a: Array, b: Array) -> tuple[float, float]:
    """(Jaccard similarity, share of the smaller set in the other) of two sorted sets."""
    if not len(a) or not len(b):
        return 0.0, 0.0
    shared = _sketch.shared(a, b)
    return shared / (len(a) + len(b) - shared), shared / min(len(a), len(b))


def screen(sketch: Sketch, others: Sequence[Sketch], limits: Thresholds) -> list[int]:
    """Which of ``others`` pass the prefilter on bins alone (names are checked after),
    the closest first (ties in their order).

    ``prefilter``'s sums, one compiled call an article: an article has a few dozen
    candidates, too few for numpy's overhead (its dozen calls cost 12 µs), and
    one whose keys are common a few hundred.
    """
    return _sketch.closest(
        sketch.words, sketch.masked, sketch.word_count, list(others), limits.prefilter
    )


def prefilter(
    words: Array, masked: Array, counts: Array, length: Array | int, limits: Thresholds
) -> tuple[Array, Array]:
    """(which pairs pass, how close each is) from the bins' estimates of many pairs:
    ``words`` and ``masked`` their Jaccard estimates, ``counts`` and ``length`` the
    two sides' word shingles."""
    small = np.minimum(counts, length)
    shared = words * (counts + length) / (1 + words)
    containment = np.where(small > 0, shared / np.maximum(small, 1), 0.0)
    floor = limits.prefilter
    keep = (words >= floor) | (masked >= floor) | (containment >= 2 * floor)
    return keep, np.maximum(words, containment)


# One-permutation MinHash estimate: bins that agree among bins not empty in both
# (compiled: a pair of 64-byte views is too little work for numpy's overhead).
jaccard = _sketch.jaccard


def compare(a: Sketch, b: Sketch) -> Similarity:
    words = jaccard(a.words, b.words)
    small, large = sorted((a.word_count, b.word_count))
    # |A ∩ B| = J (|A| + |B|) / (1 + J); its share of the smaller set.
    shared = words * (small + large) / (1 + words)
    containment = min(1.0, shared / small) if small else 0.0
    length = small / large if large else 0.0
    masked = jaccard(a.masked, b.masked)
    return Similarity(words, masked, containment, _names(a, b), length, small)


def _names(a: Sketch, b: Sketch) -> float:
    # Each side keeps only its MAX_NAMES least hashes (sorted): compared below both
    # cut-offs, the share of the side with fewer there found in the other; when one
    # side names nothing, 1.0: nothing against. Compiled: every screened pair asks.
    return _sketch.names_share(a.names, b.names)


def plausible(estimate: Similarity, limits: Thresholds) -> bool:
    """Whether the sketches agree enough to be worth comparing the texts."""
    return estimate.names >= limits.prefilter_names and (
        estimate.words >= limits.prefilter
        or estimate.masked >= limits.prefilter
        or estimate.containment >= 2 * limits.prefilter
    )


def decisive(estimate: Similarity, limits: Thresholds) -> bool:
    """Sketches agree so closely that the texts could not say otherwise (a wire copy
    with a new headline): the estimate is verdict enough, the texts need not be read.

    At J = 0.9 the 64-bin estimate errs by about 0.04, so the true containment is
    still far above ``containment``.
    """
    return (
        estimate.words >= DECISIVE
        and estimate.masked >= DECISIVE
        and estimate.names >= DECISIVE
        and estimate.length >= limits.partial_length
    )


def copy_reason(
    sim: Similarity, published: datetime, other_published: datetime, limits: Thresholds
) -> str | None:
    """Why the pair is a copy ("reprint", "partial", "spun"), or None when it is not."""
    if abs(published - other_published) > limits.window or sim.names < limits.names:
        return None
    if sim.containment >= limits.containment and sim.shorter >= limits.min_shingles:
        return "partial" if sim.length < limits.partial_length else "reprint"
    if sim.words >= limits.words and sim.masked >= limits.masked_strong:
        return "reprint"
    if (
        sim.masked >= limits.masked
        and sim.masked >= sim.words + limits.spun_margin
        and sim.names >= limits.spun_names
    ):
        return "spun"
    return None
