"""The values the alert stage and the store hand each other.

The store reads stored matches into ``Candidate``s, other outlets into
``Source``s and routes into ``RouteState``s; the stage hands back which matches
it takes (``Selection``) and what it built (``NewDigest``, ``Settlement``).
What a digest holds and when it is due are the stage's decisions
(``monitor.alert``); these are only the values that cross.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored match the route has not settled, with its article."""

    match_id: int
    story_key: str  # "s<story id>", or "a<article id>" when stories are off (``story_key``)
    article_id: str
    watchlist: str
    rule: str
    score: float
    terms: tuple[str, ...]
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    title: str
    url: str | None
    source: str
    published: datetime
    is_copy: bool
    matched_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """Another outlet that carried the story."""

    name: str
    title: str
    url: str | None
    article: str | None = None  # the stored article (an exact copy: the one it copies)


def story_key(story: int | None, article: str) -> str:
    """What a digest files a match under: its story, else its (original) article."""
    return f"s{story}" if story is not None else f"a{article}"


def split_keys(keys: Sequence[str]) -> tuple[dict[int, str], dict[str, str]]:
    """The story ids and the article ids behind ``keys``, each mapped back to its key."""
    stories = {int(k[1:]): k for k in keys if k.startswith("s")}
    articles = {k[1:]: k for k in keys if k.startswith("a")}
    return stories, articles


@dataclass(frozen=True, slots=True)
class RouteState:
    name: str
    since: datetime
    last_end: datetime | None
    last_key: str | None
    disabled_reason: str | None


@dataclass(frozen=True, slots=True)
class Selection:
    """Which stored matches a route takes, oldest first, at most ``limit``."""

    route: str
    since: datetime
    limit: int
    watchlists: tuple[str, ...] = ()  # empty: every watchlist
    rules: tuple[tuple[str, str], ...] = ()  # (watchlist or "" for any, rule); empty: every rule
    min_score: float = 0.0
    settled_before: datetime | None = None  # articles not yet compared count from then on


@dataclass(frozen=True, slots=True)
class Settlement:
    """The matches a digest disposes of, as (match id, story key); the stories in
    ``told`` are sent with it, the others folded into a story sent before."""

    matches: tuple[tuple[int, str], ...] = ()
    told: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class NewDigest:
    route: str
    kind: str  # digest, alert, alerts (the stories past a route's max_alerts, together)
    period: str
    subject: str
    entries: int  # stories shown
    more: int  # stories past the cap, counted, not shown
    settlement: Settlement
    channel: str
    message_id: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class DeliveryInfo:
    id: int
    digest_id: int
    route: str
    channel: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    subject: str
    message_id: str
