"""Frozen values passed between the pipeline stages.

Feed ──fetch──▶ FetchResult ──parse──▶ ParsedFeed(entries: Entry…)
     ──store──▶ IngestCounts ──schedule──▶ PollUpdate
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network
from typing import Literal

Network = IPv4Network | IPv6Network
FetchStatus = Literal["ok", "not_modified", "gone", "error"]


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which non-global addresses a fetch may reach (global ones always may)."""

    allow_all: bool = False
    networks: tuple[Network, ...] = ()


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed as the pipeline sees it: where it is and what we last heard."""

    id: int
    url: str
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    interval_s: int | None = None
    error_count: int = 0
    policy: AddressPolicy = field(default_factory=AddressPolicy)
    local: bool = False


@dataclass(frozen=True, slots=True)
class FetchResult:
    status: FetchStatus
    http_status: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    retry_after_s: float | None = None
    max_age_s: float | None = None
    error: str | None = None
    error_kind: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed entry, normalised: clean text, canonical URL, UTC time."""

    guid: str | None
    url: str | None
    canonical_url: str | None
    title: str
    summary: str
    content: str
    authors: tuple[str, ...]
    language: str | None
    published: datetime | None
    # Fingerprints of the normalised text (None when too short to identify a
    # story) and of everything shown; computed in the parse worker.
    text_hash: str | None = None
    entry_hash: str = ""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    link: str | None
    language: str | None
    ttl_s: float | None
    entries: tuple[Entry, ...]
    dropped_entries: int = 0


@dataclass(frozen=True, slots=True)
class IngestCounts:
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    unchanged: int = 0
    tombstoned: int = 0

    def __add__(self, other: IngestCounts) -> IngestCounts:
        return IngestCounts(
            self.new + other.new,
            self.updated + other.updated,
            self.duplicates + other.duplicates,
            self.unchanged + other.unchanged,
            self.tombstoned + other.tombstoned,
        )


@dataclass(frozen=True, slots=True)
class PollUpdate:
    """What storage writes about a feed after a poll: an intent, not a query."""

    feed_id: int
    status: str
    polled_at: datetime
    next_poll_at: datetime | None
    http_status: int | None = None
    error: str | None = None
    error_count: int = 0
    etag: str | None = None
    last_modified: str | None = None
    new_url: str | None = None
    title: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class FeedReport:
    """One line of a cycle's summary."""

    feed_id: int
    url: str
    status: str
    counts: IngestCounts
    error: str | None
    next_poll_at: datetime | None
    sightings: tuple[Sighting, ...] = ()
    fetch_s: float | None = None  # request and body, redirects included


@dataclass(frozen=True, slots=True)
class CycleReport:
    feeds: tuple[FeedReport, ...]
    wall_s: float

    @property
    def totals(self) -> IngestCounts:
        total = IngestCounts()
        for report in self.feeds:
            total = total + report.counts
        return total

    def count(self, status: str) -> int:
        return sum(1 for report in self.feeds if report.status == status)


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A feed as a user declares it (configuration, command line or OPML)."""

    url: str
    title: str | None = None
    interval_s: int | None = None
    allow_private: bool | tuple[str, ...] | None = None
    local: bool = False


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """A feed's health, for people."""

    id: int
    url: str
    source_url: str
    title: str | None
    origin: str
    local: bool
    active: bool
    status: str
    http_status: int | None
    last_error: str | None
    error_count: int
    last_polled_at: datetime | None
    last_new_at: datetime | None
    next_poll_at: datetime | None
    articles: int


@dataclass(frozen=True, slots=True)
class Sighting:
    """What one entry of a poll turned out to be, for the cycle summary."""

    kind: str
    article_id: str
    title: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ArticleText:
    """What the matcher reads of an article."""

    article_id: str
    title: str
    body: str
    language: str | None = None
    feed_url: str = ""
    feed_title: str | None = None


# Where a term was found: field ("title" or "body"), start and end offsets in
# that field's text as stored.
Hit = tuple[str, int, int]


@dataclass(frozen=True, slots=True)
class TermHits:
    ref: str
    term: str
    hits: tuple[Hit, ...]


@dataclass(frozen=True, slots=True)
class Match:
    """A rule of a watchlist that an article satisfies, and why."""

    watchlist: str
    rule: str
    score: float
    terms: tuple[TermHits, ...]
    snippet: str = ""
    highlights: tuple[tuple[int, int], ...] = ()  # offsets into ``snippet``


@dataclass(frozen=True, slots=True)
class Outbound:
    """A delivery as the notifier sends it."""

    id: int
    digest_id: int
    route: str
    channel: str
    message_id: str
    payload: bytes
    attempts: int
