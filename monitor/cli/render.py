"""Tables and summaries for the terminal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from monitor.alert.stage import AlertReport
from monitor.clock import when
from monitor.match.stage import MatchReport
from monitor.near.stage import NearReport
from monitor.store.alerts import DeliveryInfo
from monitor.types import CycleReport, FeedInfo
from monitor.watchlist.registry import Registry

STATUS_STYLE = {
    "ok": "green",
    "not_modified": "green",
    "moved": "yellow",
    "new": "dim",
    "gone": "red",
}


def style(status: str) -> str:
    return STATUS_STYLE.get(status, "red")


def feeds_table(feeds: Iterable[FeedInfo], now: datetime) -> Table:
    table = Table(title="Feeds", title_justify="left")
    for column in (
        "id",
        "feed",
        "status",
        "articles",
        "last new article",
        "next poll",
        "last error",
    ):
        table.add_column(
            column, overflow="fold", justify="right" if column in ("id", "articles") else "left"
        )
    for feed in feeds:
        status = feed.status if feed.active else f"{feed.status} (stopped)"
        table.add_row(
            str(feed.id),
            feed.title or feed.url,
            f"[{style(feed.status)}]{status}[/]"
            + (f" ×{feed.error_count}" if feed.error_count else ""),
            str(feed.articles),
            when(feed.last_new_at, now),
            when(feed.next_poll_at, now) if feed.active else "-",
            feed.last_error or "",
        )
    return table


def cycle_summary(
    report: CycleReport, titles: dict[int, str], now: datetime, console: Console
) -> None:
    totals = report.totals
    table = Table(
        title=f"Poll cycle: {len(report.feeds)} feeds in {report.wall_s:.1f}s", title_justify="left"
    )
    for column in ("feed", "status", "new", "copies", "updated", "next poll", "error"):
        table.add_column(
            column,
            overflow="fold",
            justify="right" if column in ("new", "copies", "updated") else "left",
        )
    for feed in sorted(report.feeds, key=lambda f: titles.get(f.feed_id, f.url)):
        counts = feed.counts
        table.add_row(
            titles.get(feed.feed_id, feed.url),
            f"[{style(feed.status)}]{feed.status}[/]",
            str(counts.new),
            str(counts.duplicates),
            str(counts.updated),
            when(feed.next_poll_at, now),
            feed.error or "",
        )
    table.add_section()
    table.add_row(
        "[b]total[/]",
        "",
        f"[b]{totals.new}[/]",
        f"[b]{totals.duplicates}[/]",
        f"[b]{totals.updated}[/]",
        "",
        "",
    )
    console.print(table)
    copies = [
        (titles.get(f.feed_id, f.url), s)
        for f in report.feeds
        for s in f.sightings
        if s.kind == "copy"
    ]
    for source, sighting in copies:
        console.print(
            f"  [yellow]copy[/] {sighting.title!r} from {source}: same {sighting.reason} "
            f"as article {sighting.article_id}, stored as a link"
        )


def match_summary(report: MatchReport, registry: Registry, console: Console) -> None:
    """What the watchlists found in this cycle's articles, and the files that failed."""
    for path, error in registry.errors.items():
        console.print(f"[red]watchlist not loaded[/] {path}:\n{error}", highlight=False)
    if not report.by_rule:
        console.print(f"Watchlists: {report.articles} articles checked, no match.")
        return
    table = Table(
        title=f"Watchlists: {report.articles} articles checked, {report.matches} matches",
        title_justify="left",
    )
    table.add_column("watchlist")
    table.add_column("rule")
    table.add_column("articles", justify="right")
    for watchlist, rule, count in report.by_rule:
        table.add_row(watchlist, rule, str(count))
    console.print(table)


def near_summary(report: NearReport) -> str:
    """One line on what the near-duplicate stage decided about this cycle's articles."""
    return (
        f"Copies and stories: {report.articles} articles compared; {report.copies} copies "
        f"of earlier articles, {report.joined_stories} joined a story, "
        f"{report.new_stories} began one (monitor stories list)"
    )


def alert_summary(report: AlertReport, recent: Iterable[DeliveryInfo], now: datetime) -> Table:
    """What the alert stage built and sent, with the latest deliveries."""
    table = deliveries_table(recent, now)
    table.title = (
        f"Alerts: {report.digests} digests and {report.alerts} instant alerts built; "
        f"{report.sent} sent, {report.retried} to retry, {report.parked} parked"
    )
    for error in report.errors:
        table.caption = f"[red]{error}[/]"
    return table


def deliveries_table(rows: Iterable[DeliveryInfo], now: datetime) -> Table:
    table = Table(title_justify="left", show_edge=False, pad_edge=False)
    for column in ("id", "route", "channel", "state", "tries", "next / sent", "subject"):
        table.add_column(column, justify="right" if column in ("id", "tries") else "left")
    for d in rows:
        style = {"sent": "green", "parked": "red"}.get(d.state, "yellow")
        moment = d.sent_at if d.state == "sent" else d.next_attempt_at
        table.add_row(
            str(d.id),
            d.route,
            d.channel,
            f"[{style}]{d.state}[/]",
            str(d.attempts),
            when(moment, now),
            escape(d.subject[:70]),
        )
        if d.last_error and d.state != "sent":
            table.add_row("", "", "", "", "", "", f"[red]{escape(d.last_error[:100])}[/]")
    return table
