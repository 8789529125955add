"""One polling cycle, feed by feed, each feed on its own so one failure stops nothing.

    store.claim_feeds(now)                   feeds whose next poll has come, leased to
                                             this worker (others skip them)
      | fetcher.fetch(feed)                  FetchResult: ok, not_modified, gone or error
      | parser.parse(body)                   ParsedFeed of normalised entries (only when ok)
      | schedule.decide(feed, result, now)   PollUpdate: status, error, next poll time
      | writer.save(feed, update, entries)   new articles, updates and copies, with the
                                             feed's state: all or nothing for each feed,
                                             many feeds to one commit (monitor.store.writer)

Database calls run on one dedicated thread so the event loop keeps fetching; at
most ``in_flight`` feeds are between fetch and save at once, which bounds memory.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

import structlog

from monitor.core.clock import Clock
from monitor.core.errors import FeedError, MonitorError
from monitor.core.types import (
    AddressPolicy,
    CycleReport,
    Entry,
    Feed,
    FeedReport,
    FetchResult,
    IngestCounts,
    ParsedFeed,
)
from monitor.fetch import Fetcher
from monitor.fetch.cadence import Cadence, decide
from monitor.parse import Parser
from monitor.store import Store
from monitor.store.writer import GroupWriter

T = TypeVar("T")
log = structlog.get_logger("monitor.pipeline")


class Poller:
    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        parser: Parser,
        clock: Clock,
        cadence: Cadence,
        policy: AddressPolicy,
        batch: int = 10_000,
        rng: random.Random | None = None,
        in_flight: int = 64,
        poll_deadline: float = 60.0,
    ) -> None:
        self.store, self.fetcher, self.parser, self.clock = store, fetcher, parser, clock
        self.cadence, self.policy, self.batch = cadence, policy, batch
        self.rng = rng or random.Random()
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db")
        self.in_flight = in_flight
        self.poll_deadline = poll_deadline
        self._writer = GroupWriter(store, self._db)

    def lease(self, feeds: int) -> float:
        """How long polling ``feeds`` claimed at once may take: waves of ``in_flight``
        polls, each at most the poll deadline. A worker killed mid-cycle delays its
        feeds by as much."""
        waves = -(-feeds // self.in_flight)
        return (waves + 1) * self.poll_deadline

    async def run_cycle(
        self,
        every: bool = False,
        progress: Callable[[FeedReport], None] | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> CycleReport:
        """Poll every due feed; ``on_start`` hears how many are claimed so far, ``progress``
        each one's report.

        Due feeds are claimed ``in_flight`` at a time, topped up as polls finish:
        several workers share a long list instead of the first taking it all, and a
        dead worker's lease covers one wave. ``every`` (``--all``) claims all at once.
        """
        started = time.perf_counter()
        # Made for each cycle: a semaphore belongs to the event loop that first used it.
        in_flight = asyncio.Semaphore(self.in_flight)

        async def poll_and_tell(feed: Feed) -> FeedReport:
            async with in_flight:
                report = await self.poll_safely(feed)
            if progress:
                progress(report)
            return report

        polls: set[asyncio.Task[FeedReport]] = set()
        reports: list[FeedReport] = []
        claimed, more = 0, True
        try:
            while more or polls:
                if more and len(polls) <= self.in_flight // 2:
                    feeds = await self._claim(every)
                    more = bool(feeds) and not every
                    claimed += len(feeds)
                    if on_start:
                        on_start(claimed)
                    polls.update(asyncio.create_task(poll_and_tell(f)) for f in feeds)
                if polls:
                    done, polls = await asyncio.wait(polls, return_when=asyncio.FIRST_COMPLETED)
                    reports += [task.result() for task in done]
        except asyncio.CancelledError:
            for task in polls:
                task.cancel()
            raise
        log.debug("cycle.done", feeds=claimed)
        return CycleReport(tuple(reports), time.perf_counter() - started)

    async def _claim(self, every: bool) -> list[Feed]:
        limit = self.batch if every else self.in_flight
        return await self._in_db(
            self.store.claim_feeds, self.clock.now(), limit, self.policy, every, self.lease
        )

    async def poll_safely(self, feed: Feed) -> FeedReport:
        """``poll``, with any bug contained to this feed's report."""
        try:
            return await self.poll(feed)
        except Exception as exc:
            log.exception("feed.internal_error", feed=feed.url)
            return FeedReport(feed.id, feed.url, "internal_error", IngestCounts(), repr(exc), None)

    async def poll(self, feed: Feed) -> FeedReport:
        bound = log.bind(feed=feed.url)
        started = time.perf_counter()
        result = await self.fetcher.fetch(feed)
        fetch_s = time.perf_counter() - started
        parsed, error = await self._parse(feed, result)
        update = decide(
            feed,
            result,
            self.clock.now(),
            self.cadence,
            self.rng,
            ttl_s=parsed.ttl_s if parsed else None,
            error=error,
        )
        if parsed and parsed.title:
            update = replace(update, title=parsed.title)
        entries: Sequence[Entry] = parsed.entries if parsed else ()
        try:
            counts, sightings = await self._writer.save(feed, update, entries)
        except MonitorError as exc:
            bound.error("feed.save_failed", error=exc.message)
            return FeedReport(feed.id, feed.url, "storage_error", IngestCounts(), exc.message, None)
        _log_outcome(bound, update.status, counts, update.error)
        return FeedReport(
            feed.id,
            feed.url,
            update.status,
            counts,
            update.error,
            update.next_poll_at,
            tuple(sightings),
            fetch_s,
        )

    async def _parse(self, feed: Feed, result: FetchResult) -> tuple[ParsedFeed | None, str | None]:
        if result.status != "ok" or result.body is None:
            return None, None
        try:
            parsed = await self.parser.parse(
                result.body, result.content_type, result.moved_to or feed.url, self.clock.now()
            )
        except FeedError as exc:
            return None, exc.message
        return parsed, None

    async def _in_db(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, function, *args)

    def close(self) -> None:
        """Wait for the database thread: a transaction under way is finished, not cut."""
        self._db.shutdown(wait=True)


def _log_outcome(bound: Any, status: str, counts: IngestCounts, error: str | None) -> None:
    if error:
        bound.warning("feed.failed", status=status, error=error)
    elif counts.new or counts.updated or counts.duplicates:
        bound.info(
            "feed.updated",
            status=status,
            new=counts.new,
            updated=counts.updated,
            duplicates=counts.duplicates,
        )
    else:
        bound.debug("feed.unchanged", status=status)
