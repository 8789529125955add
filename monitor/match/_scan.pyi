from array import array
from collections.abc import Callable, Collection, Iterable, Sequence

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

class Wakeup:
    def __init__(
        self,
        pattern_refs: Sequence[Sequence[int]],
        filed: dict[int, list[int]],
        required: Sequence[Sequence[int]],
        any_of: Sequence[Collection[int]],
        always: Sequence[int],
        refs: int,
    ) -> None: ...
    def candidates(self, found: Collection[int]) -> list[int]: ...

def places(
    offsets: array[int], title_words: int, occurrences: Iterable[tuple[int, ...]]
) -> list[tuple[str, int, int]] | None: ...
