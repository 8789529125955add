"""What the near stage needs of storage (``Repository`` is one): values in and out,
monitor.core.near's; what they mean is decided in the stage."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from monitor.core.near import GrowStory, NearArticle, NearFiling, StoredSketch, StoredStory

T = TypeVar("T")


class NearStore(Protocol):
    def pending_near(self, limit: int) -> list[NearArticle]:
        """Articles not yet compared (new, or changed since), first seen first."""
        ...

    def near_filed(self, keys: Iterable[int]) -> tuple[dict[int, list[int]], Counter[int]]:
        """(the docs filed under each of ``keys``, in order; how many each has)."""
        ...

    def near_bins(
        self, docs: Iterable[int], since: datetime
    ) -> dict[int, tuple[bytes, bytes, int]]:
        """doc -> (word bins, masked bins, word count) of those published since ``since``."""
        ...

    def near_known(self, docs: Iterable[int]) -> dict[int, StoredSketch]:
        """The stored sketches ``docs``, whole."""
        ...

    def story_candidates(
        self, keys: Sequence[int], since: datetime, keep: Callable[[StoredStory], T]
    ) -> list[T]:
        """What ``keep`` makes of each story filed under any of these name keys whose
        latest article is since ``since``, handed over as read, in id order."""
        ...

    def near_texts(self, ids: Iterable[str]) -> list[NearArticle]:
        """The stored texts of these articles (purged ones left out)."""
        ...

    def save_near(self, filing: NearFiling, now: datetime, grow: GrowStory) -> None:
        """All of ``filing`` in one transaction (``grow`` applied to each joined story
        as stored then), or nothing: StorageError."""
        ...
