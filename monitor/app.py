"""Wiring: configuration in, a ready Poller and Repository out."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import TypeVar

from monitor.alert.render import Renderer
from monitor.alert.retry import RetryPolicy
from monitor.alert.stage import AlertReport, AlertStage
from monitor.config import Config, DuplicateSettings, RouteSettings
from monitor.core.clock import Clock, SystemClock
from monitor.core.memory import release_free_memory
from monitor.dedup.decide import EXACT_COPIES
from monitor.fetch.cadence import Cadence
from monitor.fetch.files import FileFetcher, RoutingFetcher
from monitor.fetch.http import USER_AGENT, HttpFetcher, HttpSettings
from monitor.flow import Poller
from monitor.match.stage import MatchReport, MatchStage
from monitor.near.similarity import Thresholds
from monitor.near.stage import NearReport, NearStage
from monitor.near.story import StoryLimits
from monitor.notify import Notifier
from monitor.notify.files import FileNotifier
from monitor.notify.smtp import SmtpNotifier
from monitor.notify.webhook import WebhookNotifier
from monitor.parse.entries import Limits
from monitor.parse.pool import ParsePool
from monitor.store.leases import held
from monitor.store.repository import Repository
from monitor.watchlist.registry import Registry

T = TypeVar("T")


class App:
    """Everything one monitor process runs on. Use as a context manager."""

    def __init__(
        self, config: Config, clock: Clock | None = None, rng: random.Random | None = None
    ) -> None:
        polling = config.settings.polling
        # The event loop gives up the GIL on every socket call; with the default
        # 5 ms switch interval the database thread then keeps it far too long.
        sys.setswitchinterval(0.0005)
        self.config = config
        self.clock = clock or SystemClock()
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.repo = Repository.open(config.database_url, exact=EXACT_COPIES)
        self.parser = ParsePool(
            workers=polling.parse_workers
            if polling.parse_workers is not None
            else min(2, os.cpu_count() or 1),
            timeout_s=polling.parse_timeout,
            limits=Limits(max_entries=polling.max_entries),
        )
        self.fetcher = RoutingFetcher(
            HttpFetcher(
                HttpSettings(
                    timeout_s=polling.timeout,
                    max_body=polling.max_body,
                    concurrency=polling.concurrency,
                    per_host=polling.per_host,
                    user_agent=polling.user_agent or USER_AGENT,
                ),
                self.clock,
            ),
            FileFetcher(polling.max_body),
        )
        self.poller = Poller(
            self.repo,
            self.fetcher,
            self.parser,
            self.clock,
            Cadence(polling.interval, polling.min_interval, polling.max_interval),
            config.policy(),
            rng=rng,
            poll_deadline=polling.timeout + polling.parse_timeout + 10,
        )

        settings = config.settings.watchlists
        self.registry = Registry(
            config.watchlist_dir, settings.languages, settings.default_language
        )
        self.registry.refresh(settle=0.0)  # at start, take the files as they are
        self.matching = MatchStage(self.repo, lambda: self.registry.matcher, self.clock)
        self.near = NearStage(self.repo, self.clock, *near_limits(config.settings.duplicates))
        self.alerts = alert_stage(config, self.repo, self.clock, rng)
        self._alerting = asyncio.Lock()

    async def send_alerts(self) -> AlertReport:
        """Due alerts and digests into the outbox, then the outbox out (never two at once).

        One worker builds at a time; every worker sends, each delivery leased.
        """
        async with self._alerting:
            report = await asyncio.to_thread(self._exclusive, "alerts", self.alerts.build)
            return await self.alerts.deliver(report or AlertReport())

    def _exclusive(self, stage: str, run: Callable[[], T]) -> T | None:
        """``run()`` when no other worker runs this stage now, else None (it does the work)."""
        with held(self.repo, stage, self.worker) as mine:
            return run() if mine else None

    async def compare_pending(self) -> NearReport:
        """The near-duplicate stage, off the event loop (nothing when it is disabled)."""
        if not self.config.settings.duplicates.enabled:
            return NearReport()
        # One worker at a time: two deciding at once could start two stories for one event.
        report = await asyncio.to_thread(self._exclusive, "near", self.near.run)
        release_free_memory()  # what the run built is freed: let the pages go
        return report or NearReport()

    async def match_pending(self) -> MatchReport:
        """The match stage, off the event loop, on one worker at a time."""
        report = await asyncio.to_thread(self._exclusive, "match", self.matching.run)
        release_free_memory()
        return report or MatchReport()

    async def purge_old_bodies(self) -> int:
        """Empty the bodies older than ``duplicates.purge_bodies_after`` (sketches stay)."""
        age = self.config.settings.duplicates.purge_bodies_after
        if age is None:
            return 0
        now = self.clock.now()
        return await asyncio.to_thread(self.repo.purge_bodies, now - timedelta(seconds=age), now)

    async def reload_watchlists(self) -> bool:
        return await asyncio.to_thread(self.registry.refresh)

    def sync_feeds(self) -> None:
        self.repo.sync_config_feeds(self.config.feed_specs(), self.clock.now())

    async def aclose(self) -> None:
        await self.fetcher.aclose()
        await self.alerts.aclose()
        self.close()

    def close(self) -> None:
        self.poller.close()
        self.parser.close()
        self.repo.close()

    def __enter__(self) -> App:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def alert_stage(
    config: Config, repo: Repository, clock: Clock, rng: random.Random | None = None
) -> AlertStage:
    settings = config.settings.alerts
    templates = config.base_dir / settings.templates if settings.templates else None
    return AlertStage(
        repo,
        config.settings.routes,
        Renderer(templates, config.base_dir / "alerts"),
        {r.name: notifier(r, config, clock) for r in config.settings.routes},
        clock,
        policy=RetryPolicy(settings.retry_base, settings.retry_max, settings.max_attempts),
        domain=settings.domain,
        wait_for_near=config.settings.duplicates.enabled,
        rng=rng,
    )


def notifier(route: RouteSettings, config: Config, clock: Clock) -> Notifier:
    if route.email is not None:
        return SmtpNotifier(route.email, config.base_dir, os.environ)
    if route.webhook is not None:
        return WebhookNotifier(route.webhook, os.environ, clock)
    directory = route.file.dir if route.file else "digests"
    return FileNotifier(config.base_dir / directory)


def near_limits(settings: DuplicateSettings) -> tuple[Thresholds, StoryLimits]:
    copies = Thresholds(
        containment=settings.containment,
        partial_length=settings.partial,
        words=settings.reprint_words,
        masked_strong=settings.reprint_masked,
        masked=settings.spun,
        spun_margin=settings.spun_margin,
        spun_names=settings.spun_names,
        names=settings.names,
        window=timedelta(seconds=settings.window),
    )
    stories = StoryLimits(
        shared=settings.story_names,
        coverage=settings.story_coverage,
        window=timedelta(seconds=settings.story_window),
    )
    return copies, stories
