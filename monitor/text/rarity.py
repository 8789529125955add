"""How common a word is in real text (wordfreq), to find each term by its rarest word.

Only the ranks of each language's most frequent words are kept (a few MB), and
wordfreq's own tables are let go once read.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from monitor.text.fold import fold_words

TOP = 30_000  # a word past this rank is rare enough to look for first


@dataclass(frozen=True)
class _Ranks:
    rank: dict[str, int]
    sorted_words: list[str]


def commonness(word: str, languages: Iterable[str], prefix: bool = False) -> int:
    """0 for a rare word, up to TOP for the most common one ("the").

    With ``prefix``, how common the most common word starting with ``word`` is:
    a search for "tam" also meets every "tamil" and "tampa".
    """
    best = TOP
    for code in languages:
        ranks = _ranks(code)
        if not prefix:
            best = min(best, ranks.rank.get(word, TOP))
            continue
        words = ranks.sorted_words
        i = bisect_left(words, word)
        while i < len(words) and words[i].startswith(word):
            best = min(best, ranks.rank[words[i]])
            i += 1
    return TOP - best


def ranks(code: str) -> Mapping[str, int]:
    """Folded word -> its rank among the language's TOP most frequent (0: "the");
    empty for a language wordfreq does not know."""
    return _ranks(code).rank


@cache
def _ranks(code: str) -> _Ranks:
    import wordfreq  # only when terms are compiled: its import alone costs 0.2 s and MBs

    try:
        words = wordfreq.top_n_list(code, TOP)
    except LookupError:
        return _Ranks({}, [])
    rank: dict[str, int] = {}
    for position, word in enumerate(words):
        for folded in fold_words(word):
            rank.setdefault(folded, position)
    _release(wordfreq)
    return _Ranks(rank, sorted(rank))


def _release(wordfreq: Any) -> None:
    for name in ("get_frequency_list", "get_frequency_dict"):
        clear = getattr(getattr(wordfreq, name, None), "cache_clear", None)
        if clear is not None:
            clear()
