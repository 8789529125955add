"""The near stage's values as the store keeps them: what it reads back, what it files.

The near stage (monitor.near) decides; the store (monitor.store.near) maps these
values to rows and back, and decides nothing. Both use them, so they live here.

    store -> stage    NearArticle (a text to compare), StoredSketch (a candidate,
                      whole), StoredStory (a story that may be joined)
    stage -> store    NearFiling: each decided article (FiledArticle), the
                      stories it starts (NewStory) and joins (JoinedStory)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class NearArticle:
    article_id: str
    title: str
    body: str
    language: str | None
    published: datetime
    # Set when the article was compared before and its text has changed since.
    doc: int | None = None
    story: int | None = None


@dataclass(frozen=True, slots=True)
class StoredSketch:
    """A stored sketch with its article's verdict (a candidate, read whole)."""

    article_id: str
    published: datetime
    words: bytes
    masked: bytes
    names: Sequence[int]  # 16-bit name hashes, sorted
    word_count: int
    duplicate_of: str | None
    story: int | None


@dataclass(frozen=True, slots=True)
class StoredStory:
    """A stored story: its names, each with how many of its articles use it."""

    id: int
    names: dict[str, int]
    updated: datetime
    articles: int


@dataclass(frozen=True, slots=True)
class Adoption:
    """A stored original a decided article predates: it and its copies become copies
    of the article, the original with this reason and these scores."""

    original: str
    reason: str | None
    scores: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FiledArticle:
    """A decided article: its sketch, the keys to file it under, its verdict."""

    article_id: str
    published: datetime
    doc: int | None  # its stored sketch, replaced (compared before, its text changed)
    words: bytes
    masked: bytes
    names: Sequence[int]
    word_count: int
    index_keys: tuple[int, ...]
    story: int | str  # a stored story, or the ``NewStory.handle`` of one started here
    duplicate_of: str | None
    reason: str | None
    scores: dict[str, Any]
    adopts: Adoption | None = None


@dataclass(frozen=True, slots=True)
class NewStory:
    handle: str  # what its articles' ``FiledArticle.story`` says until it has an id
    first_article: str
    title: str
    articles: int
    updated: datetime
    names: dict[str, int]  # the names it keeps, the most used first
    keys: tuple[int, ...]  # the keys of all its articles' names, sorted


@dataclass(frozen=True, slots=True)
class JoinedStory:
    """A stored story that decided articles joined (those not counted in it before)."""

    id: int
    articles: int
    names: dict[str, int]  # the names they use, with how many of them use each
    latest: datetime  # the latest published of them


@dataclass(frozen=True, slots=True)
class GrownStory:
    """A joined story's new names and time, from those stored (see ``GrowStory``)."""

    names: dict[str, int]  # the names it keeps, the most used first
    updated: datetime
    keys: tuple[int, ...]  # the keys of the names it did not have, sorted


# A joined story, its names and time as stored (read in the saving transaction) -> grown.
GrowStory = Callable[[JoinedStory, dict[str, int], datetime], GrownStory]


@dataclass(frozen=True, slots=True)
class NearFiling:
    """What a batch of decisions stores, in one transaction."""

    articles: tuple[FiledArticle, ...]
    new_stories: tuple[NewStory, ...]
    joined_stories: tuple[JoinedStory, ...]
