from array import array
from collections.abc import Callable, Sequence

BARRIER: str

# (kind, value, text): kind "exact", "stem" or "prefix"
TestSpec = tuple[str, str, str]
# (anchor, NEAR window or -1, whole, match_case, words, needs)
PatternSpec = tuple[int, int, bool, bool, tuple[TestSpec, ...], tuple[tuple[str, str], ...]]

class Lexicon:
    def __init__(
        self,
        patterns: Sequence[PatternSpec | None],
        stem_word: Callable[[str], str],
        limit: int = ...,
    ) -> None: ...
    @property
    def known_words(self) -> int: ...
    def scan(
        self, title: str, body: str
    ) -> tuple[int, dict[int, set[tuple[int, ...]]], array[int]]: ...
