"""An article's fingerprint for near-duplicate search: a few hundred bytes, kept for good.

Two views of the text, because copies change it in two ways:

    words    3-word shingles of the folded text. Robust to added boilerplate,
             dropped paragraphs and truncation; they fade when a spinner swaps
             words for synonyms (half the content words gone: J ≈ 0.2).
    masked   6-token shingles where every content word is a mask and only
             function words ("of", "the", "has been"), names and numbers stay.
             A spinner swaps content words, so this view survives spinning
             (half the content words gone: J ≈ 0.4), but it is vaguer.

Each view is summarised by one-permutation MinHash: one 64-bit hash per
shingle, split into 64 bins by its top bits, the minimum of each bin kept as
one byte (0: empty bin). Comparing the bins estimates the Jaccard similarity
of the two shingle sets. Each view also gives ``KEYS_PER_VIEW`` index keys: the
minimum shingle of each of 6 coarser bins, taken only among shingles with a
rare word or a name in them, so a key is unlikely to be shared by chance; and
the opening gets 4 keys of its own, because a copy cut to its lead shares too
few of the whole text's shingles to share its keys.
Names and numbers (rarely touched by a spinner) are kept too, as 16-bit hashes.

Pure: no I/O. Hashes are stable across processes and machines (blake2b).
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from itertools import compress
from operator import ne
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.match.fold import fold
from monitor.match.rarity import TOP, ranks
from monitor.match.stems import language_code

BINS = 64
KEYS_PER_VIEW = 6
LEAD_KEYS = 4
LEAD_WORDS = 25  # a copy cut to its lead shares the opening: keys of its own
MAX_NAMES = 48
WORD_SHINGLE = 3
MASKED_SHINGLE = 6
COMMON_WORDS = 1_000  # a shingle of only these words is too common to index
RANKED_WORDS = TOP  # how rare a name is: its rank among these, else rarest
STORY_NAMES = 40
# Capitalised but no name: a day or month says nothing of which event it is.
_CALENDAR = frozenset(
    w.lower() for w in (*calendar.day_name, *calendar.month_name, *calendar.month_abbr) if w
)
FUNCTION_WORDS = 150  # the most frequent words of the language, kept by the masked view
MASK = 0

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
Array = npt.NDArray[Any]
_EMPTY = np.uint64((1 << 64) - 1)
_VIEW_TAGS = {
    1: np.uint64(0x2545F4914F6CDD1D),
    2: np.uint64(0x9FB21C651E98DF25),
    3: np.uint64(0x4CF5AD432745937F),
}
_COMMON, _FUNCTION = 1, 2
_HASHES: dict[str, int] = {}
_HASH_CACHE_LIMIT = 500_000


@dataclass(frozen=True, slots=True)
class Sketch:
    words: bytes  # BINS bytes
    masked: bytes  # BINS bytes
    keys: tuple[int, ...]  # signed 32-bit index keys, both views
    names: tuple[int, ...]  # sorted 16-bit hashes of names and numbers
    word_count: int  # word shingles: to estimate containment
    # The rarest names ("Rutte", "Kursk"): what stories are found by. Not stored here.
    story_names: tuple[str, ...] = ()
    story_weights: tuple[float, ...] = ()  # each name's rarity: 1 (common) to 3 (unknown)


@dataclass(frozen=True)
class Features:
    """An article's shingles and names in full: to verify a candidate pair exactly.

    Held in memory only while a batch is decided (the sketch is what is stored).
    """

    sketch: Sketch
    word_shingles: Array
    masked_shingles: Array
    names: frozenset[str]

    @cached_property
    def words(self) -> Array:
        return np.unique(self.word_shingles)

    @cached_property
    def masked(self) -> Array:
        return np.unique(self.masked_shingles)


def sketch(title: str, body: str, language: str | None = "en") -> Sketch:
    return features(title, body, language).sketch


def features(title: str, body: str, language: str | None = "en") -> Features:
    vocabulary = _vocabulary(language_code(language) or "en")
    text = body if len(body) >= len(title) else title
    cased_text = fold(text, keep_case=True).text
    words = cased_text.lower().split()
    names = _names(cased_text.split(), words, vocabulary.common)
    codes = _as_array(vocabulary.codes(words))
    named = np.fromiter(map(names.__contains__, words), dtype=np.bool_, count=len(words))
    masked = np.where(named | ((codes & _FUNCTION) != 0), codes, np.uint64(MASK))
    word_shingles = _shingles(codes, WORD_SHINGLE)
    masked_shingles = _shingles(masked, MASKED_SHINGLE)
    common = (codes & _COMMON).astype(np.int32)
    with_rare = word_shingles[_in_window(common, WORD_SHINGLE) < WORD_SHINGLE]
    with_name = masked_shingles[_in_window(named.astype(np.int32), MASKED_SHINGLE) > 0]
    summary = Sketch(
        words=_bins(word_shingles),
        masked=_bins(masked_shingles),
        keys=tuple(
            sorted(
                set(
                    _keys(with_rare, 1, KEYS_PER_VIEW)
                    + _keys(with_name, 2, KEYS_PER_VIEW)
                    + _keys(word_shingles[:LEAD_WORDS], 3, LEAD_KEYS)
                )
            )
        ),
        names=tuple(sorted({_word_hash(name) & 0xFFFF for name in names}))[:MAX_NAMES],
        word_count=len(word_shingles),  # repeats are rare: no need to count distinct ones
        **_story_names(names - _digits(names) - _CALENDAR, vocabulary.rank),
    )
    return Features(summary, word_shingles, masked_shingles, frozenset(names))


def _digits(names: set[str]) -> set[str]:
    return {name for name in names if name.isdigit()}


def _story_names(names: set[str], rank: Mapping[str, int]) -> dict[str, Any]:
    """Up to STORY_NAMES names, the rarest first, each with its weight.

    "Kursk" and "Rutte" say which event it is far more than "Russia" does: a
    name weighs 1 plus twice its rank among the RANKED_WORDS most frequent
    words (rank 0: "the"), over RANKED_WORDS; a name no list knows weighs 3.
    """
    ordered = sorted(names, key=lambda name: (-rank.get(name, RANKED_WORDS), name))[:STORY_NAMES]
    weights = tuple(1 + 2 * rank.get(name, RANKED_WORDS) / RANKED_WORDS for name in ordered)
    return {"story_names": tuple(ordered), "story_weights": weights}


def _names(cased: list[str], words: list[str], common: frozenset[str]) -> set[str]:
    """Capitalised words that are not common words ("Rutte", "Kursk", not "The"), and numbers.

    No sentence splitting: a capitalised common word opening a sentence is left out
    by the common-word test, and a rare one ("Analysts") is harmless.
    """
    numbers = set(filter(str.isdigit, set(words)))
    if len(cased) != len(words):  # a character that lower-cases to two words
        return numbers
    capitalised = set(compress(words, map(ne, words, cased)))
    return numbers | (capitalised - common)


def _word_hash(word: str) -> int:
    found = _HASHES.get(word)
    if found is None:
        if len(_HASHES) > _HASH_CACHE_LIMIT:
            _HASHES.clear()
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        found = _HASHES[word] = int.from_bytes(digest, "little")
    return found


def _as_array(values: Iterable[int]) -> Array:
    return np.fromiter(values, dtype=np.uint64)


def _shingles(hashes: Array, size: int) -> Array:
    """The hash of each run of ``size`` words (one for a shorter text), in text order.

    A polynomial of the word hashes (arithmetic mod 2**64), then a finaliser so the
    high bits, which pick the bin, are as random as the low ones.
    """
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


def _in_window(marks: Array, size: int) -> Array:
    """How many marked words each shingle's window holds."""
    counts: Array = np.concatenate([[0], np.cumsum(marks)])
    if len(marks) < size:
        return counts[-1:]
    windows: Array = counts[size:] - counts[: len(counts) - size]
    return windows


def _bins(shingles: Array) -> bytes:
    """One byte per bin, the low bits of the bin's minimum (1..255; 0: empty)."""
    least = _least_per_bin(shingles, shingles & np.uint64(BINS - 1), BINS)
    used = least != _EMPTY
    out = np.zeros(BINS, dtype=np.uint8)
    out[used] = (least[used] >> np.uint64(6)) % np.uint64(255) + np.uint64(1)
    return out.tobytes()


def _keys(shingles: Array, view: int, count: int) -> tuple[int, ...]:
    """The least shingle of each coarse bin, as a signed 32-bit key tagged with its view."""
    coarse = (shingles >> np.uint64(6)) % np.uint64(count)
    least = _least_per_bin(shingles, coarse, count)
    tagged = (least[least != _EMPTY] ^ _VIEW_TAGS[view]) * _P1
    keys = tagged >> np.uint64(32)
    return tuple(sorted({int(k) - (1 << 32) if k >= 1 << 31 else int(k) for k in keys}))


def _least_per_bin(values: Array, bins: Array, count: int) -> Array:
    """The least value in each bin (_EMPTY where none)."""
    least = np.full(count, _EMPTY, dtype=np.uint64)
    np.minimum.at(least, bins, values)
    return least


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    function: frozenset[str]
    common: frozenset[str]
    rank: Mapping[str, int]  # the most frequent words, from the most frequent (0) down
    # word -> its hash with two flags in the low bits (_COMMON, _FUNCTION), so one
    # lookup per word gives all, and the flags come out of the array vectorised.
    _codes: dict[str, int] = field(default_factory=dict)

    def codes(self, words: list[str]) -> list[int]:
        found = list(map(self._codes.get, words))
        if None in found:
            return [
                c if c is not None else self._code(w) for w, c in zip(words, found, strict=True)
            ]
        return found  # type: ignore[return-value]  # no None left

    def _code(self, word: str) -> int:
        if len(self._codes) > _HASH_CACHE_LIMIT:
            self._codes.clear()
        flags = (int(word in self.common) * _COMMON) | (int(word in self.function) * _FUNCTION)
        code = self._codes[word] = (_word_hash(word) & ~3) | flags
        return code


@cache
def _vocabulary(language: str) -> _Vocabulary:
    """The function and common words of a language, folded; none when unknown."""
    rank = ranks(language)
    function = frozenset(word for word, r in rank.items() if r < FUNCTION_WORDS)
    common = frozenset(word for word, r in rank.items() if r < COMMON_WORDS)
    return _Vocabulary(function, common, rank)
