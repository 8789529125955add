"""Story names as they are filed: each under a 32-bit key, a story keeping its most used.

A stored story is found by the keys of its names (``story_keys``), and counts
at most STORY_NAMES_KEPT of them, the most used (``kept_names``).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable

STORY_NAMES_KEPT = 64  # a story remembers its most used names

NAME_KEYS_KEPT = 50_000
# A plain dict, emptied when full: an lru_cache entry costs twice the bytes, and
# a batch asks for some 10,000 names, most of them asked before.
_NAME_KEYS: dict[str, int] = {}


def name_key(name: str) -> int:
    """A name as a signed 32-bit key (fits INTEGER on every database)."""
    found = _NAME_KEYS.get(name)
    if found is None:
        if len(_NAME_KEYS) >= NAME_KEYS_KEPT:
            _NAME_KEYS.clear()
        digest = hashlib.blake2b(name.encode(), digest_size=4).digest()
        found = _NAME_KEYS[name] = int.from_bytes(digest, "big", signed=True)
    return found


def story_keys(names: Iterable[str]) -> tuple[int, ...]:
    """The keys of ``names``, each once, in order."""
    return tuple(sorted({name_key(name) for name in names}))


def kept_names(counts: Counter[str]) -> dict[str, int]:
    """The names a story keeps of ``counts``, the most used first (ties: first counted)."""
    return dict(counts.most_common(STORY_NAMES_KEPT))
