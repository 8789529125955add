"""Prometheus metrics: what this process did, and what the shared database holds.

Counters are this worker's own (Prometheus sums them across workers); gauges
read at scrape time from the database are the same on every worker, so a
dashboard takes them from any one (``max`` across workers).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.alert.stage import AlertReport
from monitor.core.clock import Clock
from monitor.core.types import CycleReport
from monitor.match.stage import MatchReport
from monitor.near.stage import NearReport
from monitor.web.reads import OpsReads


class Metrics:
    def __init__(self, repo: OpsReads, clock: Clock) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("monitor_polls", "Feed polls by outcome", ["outcome"], registry=r)
        self.fetch_seconds = Histogram(
            "monitor_fetch_seconds",
            "Time to fetch a feed",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.articles = Counter("monitor_articles_ingested", "New articles stored", registry=r)
        self.copies = Counter(
            "monitor_duplicates", "Copies recognised", ["kind"], registry=r
        )  # exact (a link) or near (a reprint, partial or spun copy)
        self.stories = Counter("monitor_stories_started", "Stories begun", registry=r)
        self.matches = Counter(
            "monitor_matches",
            "Matches stored (an article and a rule), by watchlist",
            ["watchlist"],
            registry=r,
        )
        self.digests = Counter("monitor_digests_built", "Digests built", ["kind"], registry=r)
        self.deliveries = Counter(
            "monitor_deliveries", "Delivery attempts by outcome", ["outcome"], registry=r
        )
        self.reloads = Counter(
            "monitor_watchlist_reloads", "Watchlist reloads by outcome", ["outcome"], registry=r
        )
        r.register(_DatabaseCollector(repo, clock))

    def cycle(self, report: CycleReport) -> None:
        for feed in report.feeds:
            self.polls.labels(feed.status).inc()
            if feed.fetch_s is not None:
                self.fetch_seconds.observe(feed.fetch_s)
        totals = report.totals
        self.articles.inc(totals.new)
        self.copies.labels("exact").inc(totals.duplicates)

    def near(self, report: NearReport) -> None:
        self.copies.labels("near").inc(report.copies)
        self.stories.inc(report.new_stories)

    def matched(self, report: MatchReport) -> None:
        for watchlist, _rule, articles in report.by_rule:
            self.matches.labels(watchlist).inc(articles)

    def alerts(self, report: AlertReport) -> None:
        self.digests.labels("digest").inc(report.digests)
        self.digests.labels("alert").inc(report.alerts)
        for outcome, count in (
            ("sent", report.sent),
            ("retried", report.retried),
            ("parked", report.parked),
        ):
            self.deliveries.labels(outcome).inc(count)


class _DatabaseCollector(Collector):
    """The state every worker shares, read when Prometheus scrapes."""

    def __init__(self, repo: OpsReads, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock

    def collect(self) -> Iterator[Any]:
        state = self.repo.ops_state()
        feeds = GaugeMetricFamily("monitor_feeds", "Feeds by status", labels=["status"])
        for status, count in sorted(state.feeds_by_status.items()):
            feeds.add_metric([status], count)
        yield feeds
        yield _gauge("monitor_feeds_in_error", "Feeds whose last poll failed", state.feeds_in_error)
        yield _gauge("monitor_articles", "Articles stored", state.articles)
        yield _gauge("monitor_stories", "Stories of several articles", state.stories)
        queue = GaugeMetricFamily(
            "monitor_outbox", "Deliveries in the outbox by state", labels=["state"]
        )
        for name, count in sorted(state.deliveries_by_state.items()):
            queue.add_metric([name], count)
        yield queue
        yield _gauge(
            "monitor_delivery_lag_seconds",
            "Age of the oldest delivery not yet sent (0 when none waits)",
            _age(state.oldest_pending, self.clock.now()),
        )


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, value=value)


def _age(since: datetime | None, now: datetime) -> float:
    return max(0.0, (now - since).total_seconds()) if since else 0.0
