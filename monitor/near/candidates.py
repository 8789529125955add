"""Which stored sketches sharing a key with a batch are worth reading in full.

Pure: no I/O. Late in a large run a batch of 500 shares keys with some 20,000
stored sketches, most of them under keys common enough to fill up (boilerplate,
common shingles), and nearly all unrelated. Two sieves, before any is read whole:

    worth_screening   the index entries alone: a sketch filed under a full key
                      (KEY_CAP sketches: it says nothing) is screened only if it
                      shares another key with the article too
    worth_reading     the bins of those (``StoredBins``), screened against every
                      article of the batch at once (``similarity.screen``'s
                      prefilter)

Only the sketches that pass both for some article are read whole (names,
original, story) and become ``Known``. One that fails the prefilter for every
article would have been screened out by each: the batch decides as if it had
them all. One found through a full key alone is left out: on the evaluation
sets (bench/neardup.py) not one verdict changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from monitor.near._sketch import jaccard_pairs
from monitor.near.decide import KEY_CAP
from monitor.near.similarity import Thresholds, prefilter
from monitor.near.sketch import BINS, Array, Sketch


@dataclass(frozen=True, slots=True)
class StoredBins:
    """The stored sketches worth screening for a batch and published in the window:
    their bins and lengths, one row each."""

    filed: Mapping[int, Array]  # key -> rows of the sketches filed under it, in doc order
    docs: Array  # row -> doc
    words: Array  # rows x BINS, uint8
    masked: Array  # rows x BINS, uint8
    word_counts: Array  # row -> word shingles, float64


def worth_screening(
    filed: Mapping[int, Sequence[int]], key_counts: Counter[int], sketches: Iterable[Sketch]
) -> set[int]:
    """The docs filed under a key of some sketch that still says something (not full),
    or under two of its keys."""
    wanted: set[int] = set()
    for sketch in sketches:
        found = [(key, filed[key]) for key in sketch.keys if key in filed]
        full = [docs for key, docs in found if key_counts[key] >= KEY_CAP]
        wanted.update(*(docs for key, docs in found if key_counts[key] < KEY_CAP))
        if full:
            shared = Counter(chain.from_iterable(docs for _, docs in found))
            wanted.update(doc for doc in chain.from_iterable(full) if shared[doc] > 1)
    return wanted


def stored_bins(
    filed: Mapping[int, Sequence[int]], bins: Mapping[int, tuple[bytes, bytes, int]]
) -> StoredBins:
    """``filed`` (key -> docs) and ``bins`` (doc -> words, masked, word count: the docs
    read, those worth screening in the window) as one table of rows."""
    docs = list(bins)
    row = {doc: i for i, doc in enumerate(docs)}
    return StoredBins(
        {
            key: np.array([row[d] for d in found if d in row], dtype=np.intp)
            for key, found in filed.items()
        },
        np.array(docs, dtype=np.int64),
        _matrix([b[0] for b in bins.values()]),
        _matrix([b[1] for b in bins.values()]),
        np.array([b[2] for b in bins.values()], dtype=np.float64),
    )


def worth_reading(stored: StoredBins, sketches: Sequence[Sketch], limits: Thresholds) -> set[int]:
    """The docs that pass the prefilter on bins against at least one of ``sketches``."""
    articles, rows = _pairs(stored, sketches)
    keep, _ = prefilter(
        jaccard_pairs(_matrix([s.words for s in sketches]), stored.words, articles, rows),
        jaccard_pairs(_matrix([s.masked for s in sketches]), stored.masked, articles, rows),
        stored.word_counts[rows],
        np.array([s.word_count for s in sketches], dtype=np.float64)[articles],
        limits,
    )
    return set(stored.docs[np.unique(rows[keep])].tolist())


def _pairs(stored: StoredBins, sketches: Sequence[Sketch]) -> tuple[Array, Array]:
    """(article, row) for every stored sketch sharing a key with an article (a pair
    sharing several keys comes several times: it passes or fails alike)."""
    rows = [
        np.concatenate(found) if found else np.empty(0, dtype=np.intp)
        for found in ([stored.filed[k] for k in s.keys if k in stored.filed] for s in sketches)
    ]
    articles = np.repeat(np.arange(len(sketches), dtype=np.intp), [len(r) for r in rows])
    return articles, np.concatenate(rows) if rows else np.empty(0, dtype=np.intp)


def _matrix(views: Sequence[bytes]) -> Array:
    return np.frombuffer(b"".join(views), dtype=np.uint8).reshape(len(views), BINS)
