"""Exact copies: the values the dedup stage and the store both use.

The dedup stage (``monitor.dedup``) says what keys an entry is known by and
what each sighting is; the store looks the keys up and writes what it is told.
Both happen in the save's one transaction, so the store is handed the rules
(``ExactRules``) instead of importing the stage.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from monitor.core.types import Entry

# "original": a copy that predates the article it copies, and takes its place.
Kind = Literal["new", "update", "unchanged", "copy", "tombstoned", "original"]


@dataclass(frozen=True, slots=True)
class Identity:
    """Who an entry is in its feed: the article it makes, its own key, its key as a copy."""

    article_id: str
    own: str
    copy: str


@dataclass(frozen=True, slots=True)
class EntryKeys:
    plain: Identity
    qualified: Identity
    url: str | None
    text: str | None
    entry_fp: str
    canonical_url: str | None
    # Neither GUID nor link: the entry is known by its title and text.
    unlinked: bool = False
    # Exact fingerprints of the other entries of this fetch that differ from this
    # one only in digits: none of their articles is this entry's.
    siblings: frozenset[str] = frozenset()
    published: datetime | None = None  # from the feed, or None

    def all(self) -> tuple[str, ...]:
        keys = (
            self.plain.own,
            self.plain.copy,
            self.qualified.own,
            self.qualified.copy,
            self.url,
            self.text,
        )
        return tuple(k for k in keys if k)

    def as_stored(self) -> Stored:
        """What the store holds of the article once this entry is written as it."""
        return Stored(self.entry_fp, self.text, self.canonical_url, self.published)


@dataclass(frozen=True, slots=True)
class Stored:
    """What the database holds of an article, to tell updates from collisions."""

    entry_fp: str
    text_fp: str | None
    canonical_url: str | None
    published: datetime | None = None  # from its feed, else when first seen


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Kind
    article_id: str
    identity: Identity
    reason: str | None = None
    # Fingerprints the article is known by from now on (those already known stay
    # with the article they name).
    gains: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Found:
    """What the store found under a poll's keys, with what the poll has written so far.

    A read-only view: the store keeps the mappings up to date as it writes.
    """

    known: Mapping[str, str | None]  # fingerprint: its article (None: deleted)
    stored: Mapping[str, Stored]  # article: what it holds
    # Articles that earlier entries of the same fetch turned out to be: those
    # entries' fingerprints.
    taken: Mapping[str, str]
    created: Collection[str]  # articles this poll adds (not written yet)


@dataclass(frozen=True, slots=True)
class ExactRules:
    """The decisions a poll's save applies inside its transaction (``monitor.dedup``)."""

    # The keys of one fetch's entries, in order.
    keys: Callable[[int, Sequence[Entry]], list[EntryKeys]]
    # What a sighting is, given what its keys point to, at the given time.
    verdict: Callable[[EntryKeys, Found, datetime], Verdict]
    # An article's holder in its feed: its own keys, each with its key as a copy
    # (what they become when another entry takes the article's place).
    held_keys: Callable[[int, Entry], Mapping[str, str]]
