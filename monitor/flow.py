"""The whole flow, written once: from a due feed to a delivered alert.

    poll()     store.claim_feeds(now)         due feeds, leased to this worker (others
                                              skip them), ``in_flight`` at a time
                | fetcher.fetch(feed)         FetchResult: ok, not_modified, gone, error
                | parser.parse(body)          ParsedFeed of normalised entries (when ok)
                | next_poll(feed, result)     PollUpdate: status, error, next poll time
                | writer.save(feed, update,   exact copies: new articles, updates and
                              entries)        copies by the exact-copy verdicts (monitor
                                              .dedup), saved with the feed's state: all
                                              or nothing for each feed
    process()   | near.run()                  near copies and stories: NearReport
                | matching.run()              watchlist matches: MatchReport (terms,
                                              and concepts by meaning: monitor.match
                                              .meaning; articles meaning missed while
                                              its model was away, read again)
    alert()     | alerts.build()              due digests and instant alerts into the
                                              outbox
                | alerts.deliver()            the outbox out, each delivery leased

Feed by feed while polling, so one feed's failure stops nothing; after it, each
stage on one worker at a time (a lease in the store), the others skipping it.
``once`` runs the three in a row (``monitor run --once``). The daemon
(``monitor.daemon``) runs ``poll`` on its schedule and ``process`` after each
cycle, never holding polling up; ``alert`` as a task of its own as soon as
``process`` found matches (instant alerts), and on a schedule of its own for
digests whose time comes and retries; ``purge`` empties old bodies every hour.

Polling's database calls run on one dedicated thread so the event loop keeps
fetching; at most ``in_flight`` feeds are between fetch and save at once, which
bounds memory. The other stages run in threads, off the event loop.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Literal, TypeVar

import structlog

from monitor.alert.stage import AlertReport, AlertStage
from monitor.core.clock import Clock
from monitor.core.errors import FeedError, MonitorError
from monitor.core.memory import release_free_memory
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
from monitor.fetch.cadence import Cadence, next_poll
from monitor.match.stage import MatchReport, MatchStage
from monitor.near.stage import NearReport, NearStage
from monitor.parse import Parser
from monitor.store import Store
from monitor.store.leases import held
from monitor.store.repository import Repository
from monitor.store.writer import GroupWriter

T = TypeVar("T")
Step = Literal["near", "match", "alert"]
log = structlog.get_logger("monitor.flow")


def _ignore(*_: object) -> None:
    return None


@dataclass(frozen=True)
class Hooks:
    """What the one running the flow hears as it goes: a progress bar, metrics, logs."""

    claimed: Callable[[int], None] = _ignore  # feeds claimed so far in this cycle
    polled: Callable[[FeedReport], None] = _ignore  # each feed, once saved
    step: Callable[[Step], None] = _ignore  # a stage after polling begins
    compared: Callable[[NearReport], None] = _ignore
    matched: Callable[[MatchReport], None] = _ignore


QUIET = Hooks()


@dataclass(frozen=True)
class FlowReport:
    """One whole pass: what polling, the near stage, matching and alerting each did."""

    cycle: CycleReport
    near: NearReport
    matched: MatchReport
    sent: AlertReport


class Flow:
    """The steps of the module's pipe, and the order they run in."""

    def __init__(
        self,
        poller: Poller,
        near: NearStage | None,
        matching: MatchStage,
        alerts: AlertStage,
        repo: Repository,
        worker: str,
        clock: Clock,
        keep_bodies: timedelta | None = None,
    ) -> None:
        """``near`` None: near copies are not looked for; ``keep_bodies`` None: kept forever."""
        self.poller, self._near, self._matching, self._alerts = poller, near, matching, alerts
        self.repo, self.worker, self.clock = repo, worker, clock
        self.keep_bodies = keep_bodies
        self._alerting = asyncio.Lock()

    async def once(self, every: bool = False, hooks: Hooks = QUIET) -> FlowReport:
        """Poll, process what was saved, alert: ``monitor run --once``."""
        try:
            cycle = await self.poll(every, hooks)
        finally:
            await self.poller.fetcher.aclose()  # nothing more to fetch: its connections go now
        near, matched = await self.process(hooks)
        hooks.step("alert")
        try:
            sent = await self.alert()
        finally:
            await self._alerts.aclose()
        return FlowReport(cycle, near, matched, sent)

    async def poll(self, every: bool = False, hooks: Hooks = QUIET) -> CycleReport:
        """Every due feed (``every``: every active one) fetched, parsed and saved."""
        return await self.poller.run_cycle(every, hooks.polled, hooks.claimed)

    async def process(self, hooks: Hooks = QUIET) -> tuple[NearReport, MatchReport]:
        """What polling saved, through the near stage, then the watchlists."""
        hooks.step("near")
        near = await self.near()
        hooks.compared(near)
        hooks.step("match")
        matched = await self.match()
        hooks.matched(matched)
        return near, matched

    async def near(self) -> NearReport:
        """Near copies and stories (nothing when they are not looked for)."""
        if self._near is None:
            return NearReport()
        # One worker at a time: two deciding at once could start two stories for one event.
        report = await self._alone("near", self._near.run)
        release_free_memory()  # what the run built is freed: let the pages go
        return report or NearReport()

    async def match(self) -> MatchReport:
        """The watchlists, on the articles not matched yet."""
        report = await self._alone("match", self._matching.run)
        release_free_memory()
        return report or MatchReport()

    async def alert(self) -> AlertReport:
        """Due alerts and digests into the outbox, then the outbox out (never two at once).

        One worker builds at a time; every worker sends, each delivery leased.
        """
        async with self._alerting:
            report = await self._alone("alerts", self._alerts.build)
            return await self._alerts.deliver(report or AlertReport())

    async def purge(self) -> int:
        """Empty the bodies older than ``keep_bodies`` (sketches stay)."""
        if self.keep_bodies is None:
            return 0
        now = self.clock.now()
        return await asyncio.to_thread(self.repo.purge_bodies, now - self.keep_bodies, now)

    async def _alone(self, stage: str, run: Callable[[], T]) -> T | None:
        """``run()`` off the event loop when no other worker runs this stage now, else
        None (that worker does the work)."""

        def exclusive() -> T | None:
            with held(self.repo, stage, self.worker) as mine:
                return run() if mine else None

        return await asyncio.to_thread(exclusive)

    async def aclose(self) -> None:
        """The fetcher's connections and the notifiers' closed."""
        await self.poller.fetcher.aclose()
        await self._alerts.aclose()


class Poller:
    """The first five steps: claim, fetch, parse, schedule, save."""

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
        update = next_poll(
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
