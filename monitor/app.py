"""Wiring: configuration in, the objects one monitor process runs on out.

Nothing here runs a stage: ``Flow`` (monitor.flow) holds the order they run in.
"""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from types import TracebackType

from monitor.alert import check
from monitor.alert.render import Renderer
from monitor.alert.retry import RetryPolicy
from monitor.alert.settings import MailHeaders, RouteSpec
from monitor.alert.stage import AlertStage
from monitor.alert.storage import AlertStore
from monitor.config import Config, DuplicateSettings, PollingSettings, RouteSettings
from monitor.core.clock import Clock, SystemClock
from monitor.dedup.decide import EXACT_COPIES
from monitor.fetch import Fetcher
from monitor.fetch.cadence import Cadence
from monitor.fetch.files import FileFetcher, RoutingFetcher
from monitor.fetch.http import USER_AGENT, HttpFetcher, HttpSettings
from monitor.flow import Flow, Poller
from monitor.match.stage import MatchStage
from monitor.match.values import Watchlist
from monitor.meaning.source import MeaningSource
from monitor.near.similarity import Thresholds
from monitor.near.stage import NearStage
from monitor.near.storage import NearStore
from monitor.near.story import StoryLimits
from monitor.notify import Notifier
from monitor.notify.files import FileNotifier
from monitor.notify.smtp import SmtpNotifier, SmtpSettings
from monitor.notify.webhook import WebhookEndpoint, WebhookNotifier
from monitor.parse import Parser
from monitor.parse.entries import Limits
from monitor.parse.pool import ParsePool
from monitor.store.repository import Repository
from monitor.watchlist.registry import Registry


class App:
    """Everything one monitor process runs on. Use as a context manager."""

    def __init__(
        self,
        config: Config,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        *,
        fetcher: Fetcher | None = None,
        parser: Parser | None = None,
    ) -> None:
        """``fetcher`` and ``parser`` replace the configured ones (tests: no HTTP)."""
        polling = config.settings.polling
        self.config = config
        self.clock = clock or SystemClock()
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.repo = Repository.open(config.database_url, exact=EXACT_COPIES)
        self.parser: Parser = parser or parse_pool(polling)
        self.fetcher: Fetcher = fetcher or feed_fetcher(polling, self.clock)
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
            config.watchlist_dir,
            settings.languages,
            settings.default_language,
            meaning=meaning_source(config),
        )
        self.registry.refresh(settle=0.0)  # at start, take the files as they are
        self.alerts = alert_stage(config, self.repo, self.clock, rng)
        self.flow = Flow(
            self.poller,
            near_stage(config.settings.duplicates, self.repo, self.clock),
            MatchStage(self.repo, lambda: self.registry.matcher, self.clock),
            self.alerts,
            self.repo,
            self.worker,
            self.clock,
            keep_bodies=body_age(config.settings.duplicates),
        )

    def sync_feeds(self) -> None:
        self.repo.sync_config_feeds(self.config.feed_specs(), self.clock.now())

    async def aclose(self) -> None:
        await self.flow.aclose()
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


def meaning_source(config: Config) -> MeaningSource:
    settings = config.settings.meaning
    cache = Path(settings.cache_dir).expanduser() if settings.cache_dir else None
    return MeaningSource(config.meaning_model, cache, settings.threads, settings.enabled)


def parse_pool(polling: PollingSettings) -> ParsePool:
    workers = polling.parse_workers
    return ParsePool(
        workers=workers if workers is not None else min(2, os.cpu_count() or 1),
        timeout_s=polling.parse_timeout,
        limits=Limits(max_entries=polling.max_entries),
    )


def feed_fetcher(polling: PollingSettings, clock: Clock) -> Fetcher:
    """HTTP(S) feeds through the guarded client; ``file:`` feeds from disk."""
    http = HttpSettings(
        timeout_s=polling.timeout,
        max_body=polling.max_body,
        concurrency=polling.concurrency,
        per_host=polling.per_host,
        user_agent=polling.user_agent or USER_AGENT,
    )
    return RoutingFetcher(HttpFetcher(http, clock), FileFetcher(polling.max_body))


def near_stage(settings: DuplicateSettings, store: NearStore, clock: Clock) -> NearStage | None:
    return NearStage(store, clock, *near_limits(settings)) if settings.enabled else None


def body_age(settings: DuplicateSettings) -> timedelta | None:
    """How long bodies are kept (None: for good; sketches stay either way)."""
    age = settings.purge_bodies_after
    return None if age is None else timedelta(seconds=age)


def alert_stage(
    config: Config, repo: AlertStore, clock: Clock, rng: random.Random | None = None
) -> AlertStage:
    settings = config.settings.alerts
    return AlertStage(
        repo,
        [route_spec(r) for r in config.settings.routes],
        alert_renderer(config),
        {r.name: notifier(r, config, clock) for r in config.settings.routes},
        clock,
        policy=RetryPolicy(settings.retry_base, settings.retry_max, settings.max_attempts),
        domain=settings.domain,
        wait_for_near=config.settings.duplicates.enabled,
        rng=rng,
    )


def alert_renderer(config: Config) -> Renderer:
    """The routes' templates: the user's own directory first, then ``alerts/``."""
    settings = config.settings.alerts
    templates = config.base_dir / settings.templates if settings.templates else None
    return Renderer(templates, config.base_dir / "alerts")


def route_spec(route: RouteSettings) -> RouteSpec:
    """A route of monitor.yaml as the alert stage takes it."""
    mail = route.email
    headers = (
        MailHeaders(sender=mail.sender, to=tuple(mail.to), list_unsubscribe=mail.list_unsubscribe)
        if mail
        else None
    )
    return RouteSpec(
        name=route.name,
        title=route.title,
        channel=route.channel,
        template=route.template,
        email=headers,
        secrets=route.secrets,
        watchlists=tuple(route.watchlists),
        rules=tuple(route.rules),
        min_score=route.min_score,
        schedule=route.schedule,
        timezone=route.timezone,
        quiet_hours=route.quiet_hours,
        urgent_score=route.urgent_score,
        max_entries=route.max_entries,
        max_alerts=route.max_alerts,
        alert_window=route.alert_window,
        send_empty=route.send_empty,
    )


def notifier(route: RouteSettings, config: Config, clock: Clock) -> Notifier:
    if route.email is not None:
        mail = route.email
        smtp = SmtpSettings(
            host=mail.host,
            port=mail.port,
            security=mail.security,
            sender=mail.sender,
            to=tuple(mail.to),
            username_env=mail.username_env,
            password_env=mail.password_env,
            ca_file=config.base_dir / mail.ca_file if mail.ca_file else None,
            timeout=mail.timeout,
        )
        return SmtpNotifier(smtp, os.environ)
    if route.webhook is not None:
        hook = route.webhook
        endpoint = WebhookEndpoint(
            url=hook.url, format=hook.format, secret_env=hook.secret_env, timeout=hook.timeout
        )
        return WebhookNotifier(endpoint, os.environ, clock)
    directory = route.file.dir if route.file else "digests"
    return FileNotifier(config.base_dir / directory)


def route_problems(
    config: Config,
    watchlists: Sequence[Watchlist],
    env: Mapping[str, str],
    clock: Clock,
) -> list[str]:
    """What ``monitor check`` says about the routes (``monitor.alert.check``)."""
    rules: dict[str, set[str]] = {}
    for watchlist in watchlists:
        rules.setdefault(watchlist.name, set()).update(r.name for r in watchlist.rules)
    routes = [route_spec(r) for r in config.settings.routes]
    return check.route_problems(routes, rules, env, alert_renderer(config), clock)


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
