"""The daemon: when each step of the flow (``monitor.flow``) runs; the flow says in
which order.

APScheduler runs one periodic job that polls whatever feeds are due. There is no
job per feed: the database knows each feed's next poll time, and the job asks it
every ``check_every`` seconds. Each cycle's end wakes the processing task, which
takes the new articles through the near-duplicate stage, then the watchlists,
then, when they matched, the alert stage (the routes' due digests and instant
alerts, then the outbox). Polling never waits for processing: a long
near-duplicate run on a large corpus must not leave feeds unpolled, least of all
the feeds a dead worker held, which this worker takes over when their leases
expire. Processing runs one pass at a time and, woken while busy, once more
after it. A job also runs the alert stage every ``alerts.check_every`` seconds,
for digests whose time comes and deliveries due a retry. A second job looks at
the watchlist files every ``reload_every`` seconds and swaps in the ones that
changed; with ``duplicates.purge_bodies_after`` set, a third empties old bodies
every hour. SIGINT or SIGTERM stops the scheduler and lets the cycle under way
finish (each feed's save is one transaction, so a second signal, which cancels
it, loses at most the polls not yet saved).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.app import App
from monitor.core.types import CycleReport
from monitor.flow import Hooks
from monitor.match.stage import MatchReport
from monitor.near.stage import NearReport
from monitor.web.access import Access
from monitor.web.metrics import Metrics
from monitor.web.server import OpsServer
from monitor.web.status import meaning_state, watchlist_files

log = structlog.get_logger("monitor.daemon")


class Daemon:
    def __init__(
        self,
        app: App,
        on_poll: Callable[[CycleReport], None] | None = None,
        on_match: Callable[[MatchReport], None] | None = None,
    ) -> None:
        self.app = app
        self.flow = app.flow
        self.on_poll = on_poll
        self.on_match = on_match
        self.metrics = Metrics(app.repo, app.clock)
        self._scheduler: AsyncIOScheduler | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._cycle: asyncio.Task[CycleReport] | None = None
        self._wake = asyncio.Event()
        self._signals = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)
        scheduler = AsyncIOScheduler(event_loop=loop, timezone="UTC")
        scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.app.config.settings.polling.check_every,
            next_run_time=self.app.clock.now(),
            max_instances=1,
            coalesce=True,
            id="poll_due_feeds",
        )
        scheduler.add_job(
            self._reload,
            "interval",
            seconds=self.app.config.settings.watchlists.reload_every,
            max_instances=1,
            coalesce=True,
            id="reload_watchlists",
        )
        if self.app.config.settings.routes:
            scheduler.add_job(
                self._alert,
                "interval",
                seconds=self.app.config.settings.alerts.check_every,
                max_instances=1,
                coalesce=True,
                id="send_alerts",
            )
        if self.app.config.settings.duplicates.purge_bodies_after:
            scheduler.add_job(
                self._purge,
                "interval",
                hours=1,
                next_run_time=self.app.clock.now(),
                max_instances=1,
                coalesce=True,
                id="purge_old_bodies",
            )
        scheduler.start()
        self._scheduler = scheduler
        processing = asyncio.create_task(self._process_forever())
        server = await self._serve()
        log.info(
            "daemon.started", feeds=len(self.app.config.settings.feeds), worker=self.app.worker
        )
        try:
            await self._stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            if server is not None:
                await server.stop()
            await self._finish_cycle()
            await self._finish_processing(processing)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            log.info("daemon.stopped")

    async def _serve(self) -> OpsServer | None:
        http = self.app.config.settings.http
        if not http.enabled:
            return None
        server = OpsServer(
            self.app.repo,
            self.metrics,
            self.app.clock,
            self.app.worker,
            lambda: self._scheduler is not None and self._scheduler.running,
            lambda: watchlist_files(self.app.registry),
            Access.of(http.host, http.allowed_hosts, http.token),
            lambda: meaning_state(self.app.registry),
        )
        await server.start(http.host, http.port)
        return server

    def request_stop(self) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info(
                "daemon.stopping", hint="finishing the cycle under way; signal again to abandon it"
            )
            self._stop.set()
        elif self._cycle is not None:
            self._cycle.cancel()

    async def _tick(self) -> None:
        if self._stop.is_set():
            return
        cycle = self._cycle = asyncio.create_task(self.flow.poll())
        try:
            # Shielded: stopping the scheduler on the first signal cancels this job,
            # and the cycle must still finish (_finish_cycle awaits it); only a
            # second signal cancels the cycle itself (request_stop).
            report = await asyncio.shield(cycle)
        except asyncio.CancelledError:
            if cycle.cancelled():
                log.warning("cycle.abandoned")
            return
        finally:
            if cycle.done():
                self._cycle = None
        self.metrics.cycle(report)
        # An idle check (no feed due) is not news: about 120 an hour at the default.
        if not report.feeds:
            log.debug("cycle.idle")
        elif self.on_poll:
            self.on_poll(report)
        self._wake.set()  # even idle: articles left pending (a restart) are taken on

    async def _process_forever(self) -> None:
        """One processing pass per wake-up; wakes during a pass make one more pass."""
        while not self._stop.is_set():
            await self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return  # what is pending waits for the next start
            try:
                await self._process()
            except Exception:  # pending articles stay pending; the next wake retries
                log.exception("processing.failed")

    async def _process(self) -> None:
        _, matched = await self.flow.process(Hooks(compared=self._compared, matched=self._matched))
        if matched.matches:
            # Instant alerts leave now, not at the next check; a slow mail server
            # must not hold up the next pass, so they go as a task of their own.
            task = asyncio.create_task(self._alert())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _compared(self, near: NearReport) -> None:
        self.metrics.near(near)
        if near.articles:
            log.info(
                "near.done",
                articles=near.articles,
                copies=near.copies,
                joined=near.joined_stories,
                stories=near.new_stories,
            )

    def _matched(self, matched: MatchReport) -> None:
        self.metrics.matched(matched)
        if self.on_match and matched.articles:
            self.on_match(matched)

    async def _alert(self) -> None:
        if self._stop.is_set() or not self.app.config.settings.routes:
            return
        try:
            sent = await self.flow.alert()
        except Exception:  # the outbox keeps everything; the next check tries again
            log.exception("alerts.failed")
            return
        self.metrics.alerts(sent)
        if sent.digests or sent.alerts or sent.sent or sent.parked:
            log.info(
                "alerts.done",
                digests=sent.digests,
                alerts=sent.alerts,
                sent=sent.sent,
                retried=sent.retried,
                parked=sent.parked,
            )

    async def _reload(self) -> None:
        rejected = self.app.registry.rejected
        try:
            changed = await asyncio.to_thread(self.app.registry.refresh)
        except Exception:  # the watchlists in force keep running whatever happened
            log.exception("watchlists.reload_failed")
            self.metrics.reloads.labels("failed").inc()
            return
        # A bad edit leaves the watchlists in force unchanged (refresh() says False):
        # counted apart, or a broken file would never show in the metric.
        if refused := self.app.registry.rejected - rejected:
            self.metrics.reloads.labels("rejected").inc(refused)
        if changed:
            outcome = "with_errors" if self.app.registry.errors else "ok"
            self.metrics.reloads.labels(outcome).inc()

    async def _purge(self) -> None:
        try:
            purged = await self.flow.purge()
        except Exception:  # retried at the next hour; polling goes on meanwhile
            log.exception("retention.purge_failed")
            return
        if purged:
            log.info("retention.purged", articles=purged)

    async def _finish_processing(self, processing: asyncio.Task[None]) -> None:
        """Let a pass under way end (its stages run in threads, which cannot be cut short)."""
        self._wake.set()  # out of its wait, to see the stop
        await processing

    async def _finish_cycle(self) -> None:
        cycle = self._cycle
        if cycle is not None:
            try:
                await cycle
            except asyncio.CancelledError:
                log.warning("cycle.abandoned")
            except Exception:  # what it saved stays saved; the rest waits for the next start
                log.exception("cycle.failed")
