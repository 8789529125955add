"""Sieving a batch's stored candidates: full keys alone bring none; on bins, exactly
those some article's screen keeps."""

from __future__ import annotations

import random
from collections import Counter

from monitor.near.candidates import stored_bins, worth_reading, worth_screening
from monitor.near.decide import KEY_CAP
from monitor.near.similarity import Thresholds, screen
from monitor.near.sketch import BINS, Sketch


def random_sketch(rng: random.Random, like: Sketch | None = None, keep: float = 0.0) -> Sketch:
    """Random bins (empty ones too), or ``like``'s with a share ``keep`` of them kept."""

    def view(base: bytes | None) -> bytes:
        fresh = [rng.choice((0, rng.randint(1, 255))) for _ in range(BINS)]
        if base is None:
            return bytes(fresh)
        return bytes(b if rng.random() < keep else f for b, f in zip(base, fresh, strict=True))

    words = view(like.words if like else None)
    masked = view(like.masked if like else None)
    keys = tuple(sorted(rng.sample(range(40), 8)))
    return Sketch(words, masked, keys, (), rng.choice((0, 5, 50, 400, 1_000)))


def test_the_docs_worth_reading_are_those_some_article_screens_in() -> None:
    rng = random.Random(7)
    limits = Thresholds()
    batch = [random_sketch(rng) for _ in range(30)]
    stored = {
        doc: random_sketch(rng, rng.choice(batch), rng.choice((0.0, 0.05, 0.1, 0.2, 0.5)))
        for doc in range(1_000, 1_400)
    }
    filed: dict[int, list[int]] = {}
    for doc, its in stored.items():
        for key in its.keys:
            filed.setdefault(key, []).append(doc)
    in_window = {doc: s for doc, s in stored.items() if doc % 7}
    bins = {doc: (s.words, s.masked, s.word_count) for doc, s in in_window.items()}
    found = worth_reading(stored_bins(filed, bins), batch, limits)

    expected: set[int] = set()
    for sketch in batch:
        docs = sorted({d for k in sketch.keys for d in filed.get(k, ()) if d in in_window})
        kept = screen(sketch, [in_window[d] for d in docs], limits)
        expected.update(docs[i] for i in kept)
    assert 0 < len(expected) < len(in_window)
    assert found == expected


def test_a_batch_without_stored_candidates_reads_none() -> None:
    rng = random.Random(1)
    empty = stored_bins({}, {})
    assert worth_reading(empty, [random_sketch(rng)], Thresholds()) == set()


def test_a_full_key_alone_brings_no_doc_to_screen() -> None:
    article = Sketch(b"", b"", (1, 2, 3), (), 100)
    other = Sketch(b"", b"", (3, 4), (), 100)
    full = list(range(100, 100 + KEY_CAP))
    filed = {1: full, 2: [7, 100], 3: [8], 4: [9, 101]}
    counts = Counter({key: len(docs) for key, docs in filed.items()})
    # 100 shares key 2 with the article as well; 9 and 101 come with the other's open key.
    assert worth_screening(filed, counts, [article]) == {7, 8, 100}
    assert worth_screening(filed, counts, [article, other]) == {7, 8, 9, 100, 101}
    counts[1] = KEY_CAP - 1  # not full: every doc under it
    assert worth_screening(filed, counts, [article]) == {7, 8, *full}
