"""The compiled sketch kernel (monitor/near/_sketch.pyx) gives bit for bit what the
former numpy code gave: sketches are stored in users' databases, so a changed
byte, key or shingle would split every copy from its stored original.

The reference below is that numpy code, kept here as the definition.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.near import _sketch
from monitor.near.similarity import Thresholds, prefilter
from monitor.near.sketch import (
    BINS,
    KEYS_PER_VIEW,
    LEAD_KEYS,
    LEAD_WORDS,
    MASK,
    MASKED_SHINGLE,
    MAX_NAMES,
    WORD_SHINGLE,
    Features,
    Sketch,
    _names,
    _vocabulary,
    features,
)
from monitor.text.fold import fold
from monitor.text.stems import language_code

_P1, _P2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)
_FACTORS = [
    np.uint64(f)
    for f in (
        0x165667B19E3779F9,
        0x27D4EB2F165667C5,
        0x85EBCA77C2B2AE63,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
        0x9E3779B97F4A7C15,
    )
]
_EMPTY = np.uint64((1 << 64) - 1)
_VIEW_TAGS = {
    1: np.uint64(0x2545F4914F6CDD1D),
    2: np.uint64(0x9FB21C651E98DF25),
    3: np.uint64(0x4CF5AD432745937F),
}
_COMMON, _FUNCTION = 1, 2


def reference_views(codes: list[int], words: list[str], names: set[str]) -> tuple[Any, ...]:
    """What features() computed with numpy before the kernel."""
    codes_array = np.fromiter(codes, dtype=np.uint64)
    named = np.fromiter(map(names.__contains__, words), dtype=np.bool_, count=len(words))
    masked = np.where(named | ((codes_array & _FUNCTION) != 0), codes_array, np.uint64(MASK))
    word_shingles = _shingles(codes_array, WORD_SHINGLE)
    masked_shingles = _shingles(masked, MASKED_SHINGLE)
    common = (codes_array & _COMMON).astype(np.int32)
    with_rare = word_shingles[_in_window(common, WORD_SHINGLE) < WORD_SHINGLE]
    with_name = masked_shingles[_in_window(named.astype(np.int32), MASKED_SHINGLE) > 0]
    keys = tuple(
        sorted(
            set(
                _keys(with_rare, 1, KEYS_PER_VIEW)
                + _keys(with_name, 2, KEYS_PER_VIEW)
                + _keys(word_shingles[:LEAD_WORDS], 3, LEAD_KEYS)
            )
        )
    )
    return word_shingles, masked_shingles, _bins(word_shingles), _bins(masked_shingles), keys


def _shingles(hashes: Any, size: int) -> Any:
    if len(hashes) < size:
        hashes = np.concatenate([hashes, np.zeros(size - len(hashes), dtype=np.uint64)])
    span = len(hashes) - size + 1
    value = np.zeros(span, dtype=np.uint64)
    for offset, factor in enumerate(_FACTORS[:size]):
        value += hashes[offset : offset + span] * factor
    value ^= value >> np.uint64(31)
    value *= _P2
    value ^= value >> np.uint64(29)
    return value


def _in_window(marks: Any, size: int) -> Any:
    counts = np.concatenate([[0], np.cumsum(marks)])
    if len(marks) < size:
        return counts[-1:]
    return counts[size:] - counts[: len(counts) - size]


def _bins(shingles: Any) -> bytes:
    least = _least_per_bin(shingles, shingles & np.uint64(BINS - 1), BINS)
    used = least != _EMPTY
    out = np.zeros(BINS, dtype=np.uint8)
    out[used] = (least[used] >> np.uint64(6)) % np.uint64(255) + np.uint64(1)
    return out.tobytes()


def _keys(shingles: Any, view: int, count: int) -> tuple[int, ...]:
    coarse = (shingles >> np.uint64(6)) % np.uint64(count)
    least = _least_per_bin(shingles, coarse, count)
    tagged = (least[least != _EMPTY] ^ _VIEW_TAGS[view]) * _P1
    keys = tagged >> np.uint64(32)
    return tuple(sorted({int(k) - (1 << 32) if k >= 1 << 31 else int(k) for k in keys}))


def _least_per_bin(values: Any, bins: Any, count: int) -> Any:
    least = np.full(count, _EMPTY, dtype=np.uint64)
    np.minimum.at(least, bins, values)
    return least


def reference_names(cased: list[str], words: list[str], common: frozenset[str]) -> set[str]:
    """The names as the Python code found them, before the kernel did."""
    numbers = set(filter(str.isdigit, set(words)))
    if len(cased) != len(words):
        return numbers
    capitalised = {word for word, as_cased in zip(words, cased, strict=True) if word != as_cased}
    return numbers | (capitalised - common)


def inputs(title: str, body: str, language: str | None = "en") -> tuple[Any, ...]:
    """The kernel's inputs as features() derives them (the names by the reference)."""
    vocabulary = _vocabulary(language_code(language) or "en")
    text = body if len(body) >= len(title) else title
    cased = fold(text, keep_case=True).text
    words = cased.lower().split()
    names = reference_names(cased.split(), words, vocabulary.common)
    assert _names(cased.split(), words, vocabulary.common) == names
    return vocabulary.codes(words), words, names


def assert_same(found: tuple[Any, ...], expected: tuple[Any, ...]) -> None:
    words, masked, word_bins, masked_bins, keys = found
    assert words.dtype == np.uint64 and masked.dtype == np.uint64
    assert words.tolist() == expected[0].tolist()
    assert masked.tolist() == expected[1].tolist()
    assert (word_bins, masked_bins, keys) == expected[2:]


def assert_features_match(title: str, body: str, language: str | None = "en") -> None:
    codes, words, names = inputs(title, body, language)
    expected = reference_views(codes, words, names)
    assert_same(_sketch.views(codes, words, names), expected)
    found: Features = features(title, body, language)
    assert (found.sketch.words, found.sketch.masked, found.sketch.keys) == expected[2:]
    assert found.sketch.word_count == len(expected[0])
    assert found.words.tolist() == np.unique(expected[0]).tolist()
    assert found.masked.tolist() == np.unique(expected[1]).tolist()


SAMPLES = [
    "",
    "One",
    "Two words",
    "Three words here",
    "Rutte met Kursk officials",
    "the of and to in a",
    "The Prime Minister Mark Rutte said on Tuesday that 32 people had been hurt in Kursk.",
    "Ça a été décidé à Genève par M. Müller, le 3 mars; Straße und Fluß.",
    "WORDS IN CAPITALS AND 2024 NUMBERS 7 8 9 " * 20,
    "the " * 300,
    "Rutte Rutte Rutte Kursk Kursk Kursk",
]

# Words drawn from function words, common words, names and rare words, so every
# branch (masked, named, all-common windows) is met; and arbitrary text.
_VOCABULARY = " ".join(
    [
        "the of and to a in is that has been for on with as was by",
        "government said people year new first last time world market",
        "Rutte Kursk London Pyongyang BBC Blair UKIP Kenteris",
        "zygote quixotic perambulate sesquipedalian obfuscate 32 2005 7",
    ]
).split()
_word_texts = st.lists(st.sampled_from(_VOCABULARY), max_size=80).map(" ".join)


@pytest.mark.parametrize("text", SAMPLES)
def test_kernel_matches_reference_on_samples(text: str) -> None:
    assert_features_match("A title", text)
    assert_features_match(text, "")


@settings(max_examples=300, deadline=None)
@given(title=st.text(max_size=40), body=st.one_of(_word_texts, st.text(max_size=400)))
def test_kernel_matches_reference_on_any_text(title: str, body: str) -> None:
    assert_features_match(title, body)


@settings(max_examples=50, deadline=None)
@given(body=_word_texts, language=st.sampled_from([None, "en", "de", "fr", "xx"]))
def test_kernel_matches_reference_in_any_language(body: str, language: str | None) -> None:
    assert_features_match("", body, language)


@pytest.mark.parametrize(
    ("cased", "expected"),
    [
        ("The Prime Minister Mark Rutte met 32 people in Kursk", {"mark", "rutte", "32", "kursk"}),
        ("Superscript ² and Roman Ⅻ and 7a and ٣", {"superscript", "²", "roman", "ⅻ", "٣"}),
        ("İstanbul and Ankara", {"i̇stanbul", "ankara"}),
    ],
)
def test_names_are_capitalised_uncommon_words_and_numbers(cased: str, expected: set[str]) -> None:
    words = cased.lower().split()
    common = frozenset({"the", "prime", "minister", "and", "met", "in", "people"})
    assert _sketch.names_of(cased.split(), words, common) == expected
    assert reference_names(cased.split(), words, common) == expected
    # Cased and lower-cased words out of step: the numbers alone.
    numbers = {word for word in words if word.isdigit()}
    assert _sketch.names_of(cased.split()[1:], words, common) == numbers


def test_kernel_refuses_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="one code per word"):
        _sketch.views([1, 2], ["a"], set())


def test_shared_counts_common_values_of_sorted_arrays() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        a = np.unique(rng.integers(0, 200, size=rng.integers(0, 100), dtype=np.uint64))
        b = np.unique(rng.integers(0, 200, size=rng.integers(0, 100), dtype=np.uint64))
        assert _sketch.shared(a, b) == len(np.intersect1d(a, b, assume_unique=True))
    top = np.array([0, 2**63, 2**64 - 1], dtype=np.uint64)
    assert _sketch.shared(top, top[1:]) == 2


def test_kernel_constants_are_the_sketch_constants() -> None:
    from monitor.near import sketch

    assert {name: getattr(sketch, name) for name in _sketch.LAYOUT} == _sketch.LAYOUT


def _reference_jaccard(a: bytes, b: bytes) -> float:
    x, y = np.frombuffer(a, dtype=np.uint8), np.frombuffer(b, dtype=np.uint8)
    used = int(np.count_nonzero(x | y))
    return int(np.count_nonzero((x == y) & (x != 0))) / used if used else 0.0


@settings(max_examples=200, deadline=None)
@given(
    one=st.binary(min_size=BINS, max_size=BINS),
    many=st.lists(st.binary(min_size=BINS, max_size=BINS), max_size=5),
    zeros=st.integers(0, BINS),
)
def test_bin_agreement_matches_numpy(one: bytes, many: list[bytes], zeros: int) -> None:
    one = bytes(zeros) + one[zeros:]  # empty bins, as a short text has
    many = [*many, one, bytes(BINS)]
    expected = [_reference_jaccard(one, other) for other in many]
    assert [_sketch.jaccard(one, other) for other in many] == expected
    # The same pairs picked out of two tables of rows.
    mine = np.frombuffer(one + bytes(BINS), dtype=np.uint8).reshape(2, BINS)
    theirs = np.frombuffer(b"".join(many), dtype=np.uint8).reshape(len(many), BINS)
    left = np.zeros(len(many), dtype=np.intp)
    right = np.arange(len(many), dtype=np.intp)
    assert _sketch.jaccard_pairs(mine, theirs, left, right).tolist() == expected


def test_bin_agreement_of_pairs_refuses_rows_out_of_range() -> None:
    table = np.zeros((2, BINS), dtype=np.uint8)
    inside, outside = np.array([1], dtype=np.intp), np.array([2], dtype=np.intp)
    with pytest.raises(IndexError):
        _sketch.jaccard_pairs(table, table, inside, outside)
    with pytest.raises(ValueError, match="one right row"):
        _sketch.jaccard_pairs(table, table, inside, np.array([0, 1], dtype=np.intp))


def test_distinct_is_numpy_unique() -> None:
    rng = np.random.default_rng(3)
    for size in (0, 1, 5, 400):
        values = rng.integers(0, 50, size=size, dtype=np.uint64)
        assert _sketch.distinct(values).tolist() == np.unique(values).tolist()


def _reference_screen(sketch: Sketch, others: list[Sketch], floor: float) -> list[int]:
    """The former numpy screen: bins' estimates, ``prefilter``, a stable sort."""
    keep, closeness = prefilter(
        np.array([_reference_jaccard(sketch.words, o.words) for o in others]),
        np.array([_reference_jaccard(sketch.masked, o.masked) for o in others]),
        np.array([o.word_count for o in others], dtype=np.float64),
        sketch.word_count,
        Thresholds(prefilter=floor),
    )
    kept = np.flatnonzero(keep)
    return [int(i) for i in kept[np.argsort(-closeness[kept], kind="stable")]]


_few_bins = st.binary(min_size=BINS, max_size=BINS).map(lambda b: bytes(x % 4 for x in b))
_bins_sketch = st.builds(
    lambda words, masked, count: Sketch(words, masked, (), (), count),
    _few_bins,
    _few_bins,
    st.integers(0, 600),
)


@settings(max_examples=300, deadline=None)
@given(sketch=_bins_sketch, others=st.lists(_bins_sketch, max_size=40))
def test_closest_is_the_numpy_screen(sketch: Sketch, others: list[Sketch]) -> None:
    # Few distinct bin values: many pairs agree alike, and their ties keep their order.
    others = [*others, sketch, *others[:3]]
    for floor in (0.1, 0.3):
        expected = _reference_screen(sketch, others, floor)
        assert _sketch.closest(sketch.words, sketch.masked, sketch.word_count, others, floor) == (
            expected
        )
    assert _sketch.closest(sketch.words, sketch.masked, sketch.word_count, [], 0.1) == []


def _reference_names_share(a: Sequence[int], b: Sequence[int]) -> float:
    """The former Python: below both cut-offs, the share of the side with fewer there."""
    if not a or not b:
        return 1.0

    def cut_off(names: Sequence[int]) -> int:
        return names[-1] if len(names) >= MAX_NAMES else 0xFFFF

    cut = min(cut_off(a), cut_off(b))
    mine, theirs = a[: bisect_right(a, cut)], b[: bisect_right(b, cut)]
    small, large = (mine, theirs) if len(mine) <= len(theirs) else (theirs, mine)
    return len(set(small).intersection(large)) / len(small) if small else 0.0


_hashes = st.lists(st.integers(0, 0xFFFF), max_size=MAX_NAMES, unique=True).map(sorted)


@settings(max_examples=300, deadline=None)
@given(a=_hashes, b=_hashes, common=st.lists(st.integers(0, 0xFFFF), max_size=30))
def test_names_share_is_the_former_python(a: list[int], b: list[int], common: list[int]) -> None:
    a = sorted(set(a) | set(common))[:MAX_NAMES]  # names in common, as copies have
    b = sorted(set(b) | set(common))[:MAX_NAMES]
    expected = _reference_names_share(tuple(a), tuple(b))
    assert _sketch.names_share(tuple(a), tuple(b)) == expected
    assert _sketch.names_share(array("H", a), array("H", b)) == expected  # as stored


def test_filed_under_gives_each_article_once_in_key_order() -> None:
    @dataclass(frozen=True)
    class Entry:
        article_id: str
        n: int

    a1, b, a2, c = Entry("a", 1), Entry("b", 2), Entry("a", 3), Entry("c", 4)
    postings = {1: [b, a1], 2: [a2, c], 3: []}
    assert _sketch.filed_under(postings, (2, 9, 1, 3), "z") == [a2, c, b]
    assert _sketch.filed_under(postings, (1, 2), "a") == [b, c]
    assert _sketch.filed_under({}, (1,), "a") == []
