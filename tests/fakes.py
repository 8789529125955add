"""A fetcher and a parser whose feeds and entries are given in Python: no HTTP, no XML.

They implement ``monitor.fetch.Fetcher`` and ``monitor.parse.Parser``. The fetcher
answers every feed with its URL as the body, unless a test set another result;
the parser turns that body back into the feed the test wrote, each entry
normalised as the real parser does (plain text, canonical URL, hashes)::

    parser.add_feed("https://wire.example/feed", title="Wire")
    parser.add_entry("https://wire.example/feed", "w1", "Convoy", STORY)
    fetcher.fail("https://site.example/feed", "timeout")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from monitor.core.errors import FeedError, ParseError
from monitor.core.types import Feed, FetchResult, ParsedFeed
from monitor.parse.entries import Limits, RawEntry, normalise_entry

CONTENT_TYPE = "application/x-fake-feed"


class FakeFetcher:
    def __init__(self) -> None:
        self.results: dict[str, FetchResult | Exception] = {}  # by feed URL
        self.fetched: list[str] = []
        self.closed = 0

    def fail(self, url: str, kind: str = "timeout", error: str = "timed out") -> None:
        """The next fetches of ``url`` fail as a network error of ``kind`` does."""
        self.results[url] = FetchResult("error", error=error, error_kind=kind)

    async def fetch(self, feed: Feed) -> FetchResult:
        self.fetched.append(feed.url)
        result = self.results.get(feed.url)
        if isinstance(result, Exception):
            raise result  # a bug in a fetcher: the flow must contain it to this feed
        return result or FetchResult("ok", 200, body=feed.url.encode(), content_type=CONTENT_TYPE)

    async def aclose(self) -> None:
        self.closed += 1


@dataclass
class _FakeFeed:
    title: str | None
    entries: dict[str, RawEntry] = field(default_factory=dict)
    error: FeedError | None = None


class FakeParser:
    def __init__(self) -> None:
        self.feeds: dict[str, _FakeFeed] = {}  # by feed URL
        self.limits = Limits()
        self.closed = False

    def add_feed(self, url: str, title: str | None = None) -> None:
        self.feeds[url] = _FakeFeed(title)

    def add_entry(
        self,
        url: str,
        guid: str,
        title: str,
        text: str,
        link: str | None = None,
        published: datetime | None = None,
    ) -> None:
        """An entry of the feed at ``url``; the same ``guid`` again replaces it."""
        self.feeds[url].entries[guid] = RawEntry(guid, link, title, text, None, (), "en", published)

    def break_feed(self, url: str, message: str = "not a readable feed") -> None:
        """The feed at ``url`` no longer parses."""
        self.feeds[url].error = ParseError(message)

    async def parse(
        self, body: bytes, content_type: str | None, base_url: str, now: datetime
    ) -> ParsedFeed:
        feed = self.feeds.get(body.decode())
        if feed is None:
            raise ParseError("no such fake feed")
        if feed.error is not None:
            raise feed.error
        entries = tuple(normalise_entry(raw, now, self.limits) for raw in feed.entries.values())
        return ParsedFeed(feed.title, base_url, "en", None, entries)

    def close(self) -> None:
        self.closed = True
