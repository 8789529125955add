"""How alike two sketches are, and whether one article is a copy of the other.

Pure: no I/O. The thresholds come from the evaluation in ``bench/neardup.py``
(see bench/README.md, "Near-duplicate evaluation", for the numbers behind them).

A pair is a copy when one of these holds:

    reprint   the word view agrees strongly (edited reprints, added
              boilerplate, a new headline): words ≥ ``words``
    partial   the shorter text is mostly inside the longer one (a copy cut to
              its lead): containment ≥ ``containment``
    spun      the masked view agrees although the words do not (synonyms
              swapped in): masked ≥ ``masked`` and words ≥ ``spun_words``

and, whatever the reason, the names and numbers of the shorter text are mostly
in the longer one (a copy keeps "Rutte", "Kursk" and "32"; two similar reports
of different events do not) and both appeared within the time window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.near.sketch import MAX_NAMES, Sketch


@dataclass(frozen=True, slots=True)
class Thresholds:
    words: float = 0.5
    containment: float = 0.7
    masked: float = 0.2
    spun_words: float = 0.1
    names: float = 0.6
    window: timedelta = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Similarity:
    words: float  # estimated Jaccard similarity of the word shingles
    masked: float  # the same, masked view
    containment: float  # share of the shorter text's shingles found in the longer
    names: float  # share of the shorter text's names and numbers found in the other

    def as_dict(self) -> dict[str, float]:
        return {
            "words": round(self.words, 3),
            "masked": round(self.masked, 3),
            "containment": round(self.containment, 3),
            "names": round(self.names, 3),
        }


def jaccard(a: bytes, b: bytes) -> float:
    """One-permutation MinHash estimate: bins that agree among bins not empty in both."""
    used = agree = 0
    for x, y in zip(a, b, strict=True):
        if x or y:
            used += 1
            agree += x == y
    return agree / used if used else 0.0


def compare(a: Sketch, b: Sketch) -> Similarity:
    words = jaccard(a.words, b.words)
    small, large = sorted((a.word_count, b.word_count))
    # |A ∩ B| = J (|A| + |B|) / (1 + J); its share of the smaller set.
    shared = words * (small + large) / (1 + words)
    containment = min(1.0, shared / small) if small else 0.0
    return Similarity(words, jaccard(a.masked, b.masked), containment, _names(a, b))


def _names(a: Sketch, b: Sketch) -> float:
    if not a.names or not b.names:
        return 1.0 if not a.names and not b.names else 0.0
    # Each side keeps only its MAX_NAMES least hashes: compare below both cut-offs.
    cut = min(_cut_off(a.names), _cut_off(b.names))
    small, large = sorted(
        ({n for n in a.names if n <= cut}, {n for n in b.names if n <= cut}), key=len
    )
    return len(small & large) / len(small) if small else 0.0


def _cut_off(names: tuple[int, ...]) -> int:
    return names[-1] if len(names) >= MAX_NAMES else 0xFFFF


def copy_reason(
    sim: Similarity, published: datetime, other_published: datetime, limits: Thresholds
) -> str | None:
    """Why the pair is a copy ("reprint", "partial", "spun"), or None when it is not."""
    if abs(published - other_published) > limits.window or sim.names < limits.names:
        return None
    if sim.words >= limits.words:
        return "reprint"
    if sim.containment >= limits.containment:
        return "partial"
    if sim.masked >= limits.masked and sim.words >= limits.spun_words:
        return "spun"
    return None
