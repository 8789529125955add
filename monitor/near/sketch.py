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

Pure: no I/O. Hashes are stable across processes and machines (blake2b). The
arithmetic on the shingles (hashing, bins, keys) is compiled: monitor/near/_sketch.pyx,
which holds its own copy of the constants above (tests/near/test_sketch_kernel.py
checks both agree, and that it gives what the numpy version gave). So is reading a
text that folds to Latin-1 (most news) into its words' codes and its names, in one
pass instead of folding, splitting and looking up here, which ``_folded_views`` still
does for other text (tests/near/test_sketch_reader.py checks both read alike); and so
are ranking the story names and sorting the names' hashes. This module keeps the
vocabulary and the word caches, and decides what a name and a word's code are.
"""

from __future__ import annotations

import calendar
import hashlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy.typing as npt

from monitor.near._sketch import Reader, distinct, name_hashes, names_of, story_names, views
from monitor.text.fold import fold
from monitor.text.rarity import TOP, ranks
from monitor.text.stems import language_code

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

Array = npt.NDArray[Any]
Views = tuple[Array, Array, bytes, bytes, tuple[int, ...]]  # what ``views`` gives
_COMMON, _FUNCTION = 1, 2  # flags in a word's code; _sketch.pyx reads them
_HASHES: dict[str, int] = {}
# Words cached with their hashes, per cache (emptied when full): about 130 B each.
# The 2,225 BBC articles use 29,000 words, so 50,000 keeps a news stream's working
# vocabulary (a cache too small to hold it costs 20 % of sketching); 500,000 let a
# daemon reading new words for days grow by 130 MB.
_HASH_CACHE_LIMIT = 50_000
# Reads a text as monitor.text.fold folds it, one character at a time.
_READER = Reader(lambda character: fold(character, keep_case=True).text)


@dataclass(frozen=True, slots=True)
class Sketch:
    words: bytes  # BINS bytes
    masked: bytes  # BINS bytes
    keys: tuple[int, ...]  # signed 32-bit index keys, both views
    names: Sequence[int]  # sorted 16-bit hashes of names and numbers (a tuple, or an array)
    word_count: int  # word shingles: to estimate containment
    # The rarest names ("Rutte", "Kursk"): what stories are found by. Not stored here.
    story_names: tuple[str, ...] = ()
    story_weights: tuple[float, ...] = ()  # each name's rarity: 1 (common) to 3 (unknown)


@dataclass(frozen=True, slots=True)
class Shingles:
    """An article's shingles and names in full: to verify a candidate pair exactly.

    Held in memory only while a batch is decided, for the batch's articles and the
    stored texts they are compared with: thousands at once. So only what
    ``similarity.exact`` reads is kept, each shingle set sorted and once, not the
    shingles in text order as well (twice the bytes).
    """

    words: Array  # the word shingles, sorted, each once
    masked: Array  # the masked shingles, sorted, each once
    names: frozenset[str]


@dataclass(frozen=True, slots=True)
class Features(Shingles):
    """The shingles, and the sketch that summarises them (what is stored)."""

    sketch: Sketch


def sketch(title: str, body: str, language: str | None = "en") -> Sketch:
    return features(title, body, language).sketch


def features(title: str, body: str, language: str | None = "en") -> Features:
    vocabulary = _vocabulary(language_code(language) or "en")
    text = body if len(body) >= len(title) else title
    # Most news is read in one compiled pass; the rest (see Reader) as folded here.
    read = vocabulary.read(text) or _folded_views(text, vocabulary)
    names, (word_shingles, masked_shingles, word_bins, masked_bins, keys) = read
    summary = Sketch(
        words=word_bins,
        masked=masked_bins,
        keys=keys,
        names=name_hashes(names, _HASHES, _word_hash),  # the MAX_NAMES least, sorted
        word_count=len(word_shingles),  # repeats are rare: no need to count distinct ones
        **_story_names(names, vocabulary.rank),
    )
    words_set, masked_set = _set_of(word_shingles), _set_of(masked_shingles)
    return Features(words_set, masked_set, frozenset(names), summary)


def _folded_views(text: str, vocabulary: _Vocabulary) -> tuple[set[str], Views]:
    """``Reader.views`` for any text: the names and ``views`` of the folded text's words."""
    cased_text = fold(text, keep_case=True).text
    words = cased_text.lower().split()
    # One string per name across articles: thousands of texts' names are held at once.
    names = set(map(sys.intern, _names(cased_text.split(), words, vocabulary.common)))
    # Shingles, bins and keys: compiled (monitor/near/_sketch.pyx), same bits as numpy gave.
    return names, views(vocabulary.codes(words), words, names)


def _set_of(shingles: Array) -> Array:
    found = distinct(shingles)
    # ``distinct`` gives a view of the sorted copy: with repeats, the tail it leaves
    # out would stay allocated as long as the view.
    return found.copy() if len(found) < len(shingles) else found


def _story_names(names: set[str], rank: Mapping[str, int]) -> dict[str, Any]:
    """Up to STORY_NAMES names, the rarest first, each with its weight.

    "Kursk" and "Rutte" say which event it is far more than "Russia" does: a
    name weighs 1 plus twice its rank among the RANKED_WORDS most frequent
    words (rank 0: "the"), over RANKED_WORDS; a name no list knows weighs 3.
    """
    ranked, weights = story_names(names, rank, _CALENDAR)  # numbers and days left out
    return {"story_names": ranked, "story_weights": weights}


def name_weight(name: str, language: str | None = "en") -> float:
    """A story name's weight (see ``_story_names``), for a name known without its article."""
    return _weight(name, _rank_of(language))


@cache  # stored stories' names are weighed by the thousand a batch: look the list up once
def _rank_of(language: str | None) -> Mapping[str, int]:
    return _vocabulary(language_code(language) or "en").rank


def _weight(name: str, rank: Mapping[str, int]) -> float:
    return 1 + 2 * rank.get(name, RANKED_WORDS) / RANKED_WORDS


def _names(cased: list[str], words: list[str], common: frozenset[str]) -> set[str]:
    """Capitalised words that are not common words ("Rutte", "Kursk", not "The"), and numbers
    (compiled: a quarter of the sketch's time as set operations in Python).

    No sentence splitting: a capitalised common word opening a sentence is left out
    by the common-word test, and a rare one ("Analysts") is harmless. When the cased
    and lower-cased words differ in number (a character that lower-cases to two
    words), the numbers alone.
    """
    return names_of(cased, words, common)


def _word_hash(word: str) -> int:
    """A name's hash (cached: a name comes back; the other words have their codes)."""
    found = _HASHES.get(word)
    if found is None:
        if len(_HASHES) > _HASH_CACHE_LIMIT:
            _HASHES.clear()
        found = _HASHES[word] = _hash(word)
    return found


def _hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    function: frozenset[str]
    common: frozenset[str]
    rank: Mapping[str, int]  # the most frequent words, from the most frequent (0) down
    # word -> its hash with two flags in the low bits (_COMMON, _FUNCTION), so one
    # lookup per word gives all, and the flags come out of the array vectorised.
    _codes: dict[str, int] = field(default_factory=dict)

    def read(self, text: str) -> tuple[set[str], Views] | None:
        """The names and ``views`` of ``text``, read in one compiled pass (see Reader);
        None for a text the reader leaves to ``_folded_views``."""
        return _READER.views(text, self._codes, self._code)

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
        # Not through the names' cache: every word would be in both.
        code = self._codes[word] = (_hash(word) & ~3) | flags
        return code


@cache
def _vocabulary(language: str) -> _Vocabulary:
    """The function and common words of a language, folded; none when unknown."""
    rank = ranks(language)
    function = frozenset(word for word, r in rank.items() if r < FUNCTION_WORDS)
    common = frozenset(word for word, r in rank.items() if r < COMMON_WORDS)
    return _Vocabulary(function, common, rank)
