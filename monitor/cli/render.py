"""Tables and summaries for the terminal (values shown through monitor.cli.term)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.console import Console
from rich.table import Table

from monitor.alert.stage import AlertReport
from monitor.cli.term import add_row, cell, markup
from monitor.core.alerting import DeliveryInfo
from monitor.core.clock import when
from monitor.core.types import CycleReport, FeedInfo
from monitor.match.stage import MatchReport
from monitor.near.stage import NearReport
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
        status = cell(
            feed.status if feed.active else f"{feed.status} (stopped)", style(feed.status)
        )
        if feed.error_count:
            status.append(f" ×{feed.error_count}")
        add_row(
            table,
            feed.id,
            feed.title or feed.url,
            status,
            feed.articles,
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
        title=markup("Poll cycle: {} feeds in {:.1f}s", len(report.feeds), report.wall_s),
        title_justify="left",
    )
    for column in ("feed", "status", "new", "copies", "updated", "next poll", "error"):
        table.add_column(
            column,
            overflow="fold",
            justify="right" if column in ("new", "copies", "updated") else "left",
        )
    for feed in sorted(report.feeds, key=lambda f: titles.get(f.feed_id, f.url)):
        counts = feed.counts
        add_row(
            table,
            titles.get(feed.feed_id, feed.url),
            cell(feed.status, style(feed.status)),
            counts.new,
            counts.duplicates,
            counts.updated,
            when(feed.next_poll_at, now),
            feed.error or "",
        )
    table.add_section()
    bold = [cell(n, "b") for n in (totals.new, totals.duplicates, totals.updated)]
    add_row(table, cell("total", "b"), "", *bold, "", "")
    console.print(table)
    copies = [
        (titles.get(f.feed_id, f.url), s)
        for f in report.feeds
        for s in f.sightings
        if s.kind == "copy"
    ]
    for source, sighting in copies:
        console.print(
            markup(
                "  [yellow]copy[/] {title!r} from {source}: same {reason} as article {id}, "
                "stored as a link",
                title=sighting.title,
                source=source,
                reason=sighting.reason,
                id=sighting.article_id,
            )
        )


def match_summary(report: MatchReport, registry: Registry, console: Console) -> None:
    """What the watchlists found in this cycle's articles, and the files that failed."""
    for path, error in registry.errors.items():
        console.print(
            markup("[red]watchlist not loaded[/] {path}:\n{error}", path=path, error=error)
        )
    if not report.by_rule:
        console.print(markup("Watchlists: {} articles checked, no match.", report.articles))
        return
    table = Table(
        title=markup(
            "Watchlists: {} articles checked, {} matches", report.articles, report.matches
        ),
        title_justify="left",
    )
    table.add_column("watchlist")
    table.add_column("rule")
    table.add_column("articles", justify="right")
    for watchlist, rule, count in report.by_rule:
        add_row(table, watchlist, rule, count)
    console.print(table)


def near_summary(report: NearReport) -> str:
    """One line on what the near-duplicate stage decided about this cycle's articles."""
    return markup(
        "Copies and stories: {} articles compared; {} copies of earlier articles, "
        "{} joined a story, {} began one (monitor stories list)",
        report.articles,
        report.copies,
        report.joined_stories,
        report.new_stories,
    )


def alert_summary(report: AlertReport, recent: Iterable[DeliveryInfo], now: datetime) -> Table:
    """What the alert stage built and sent, with the latest deliveries."""
    table = deliveries_table(recent, now)
    table.title = markup(
        "Alerts: {} digests and {} instant alerts built; {} sent, {} to retry, {} parked",
        report.digests,
        report.alerts,
        report.sent,
        report.retried,
        report.parked,
    )
    for error in report.errors:
        table.caption = cell(error, "red")
    return table


def deliveries_table(rows: Iterable[DeliveryInfo], now: datetime) -> Table:
    table = Table(title_justify="left", show_edge=False, pad_edge=False)
    for column in ("id", "route", "channel", "state", "tries", "next / sent", "subject"):
        table.add_column(column, justify="right" if column in ("id", "tries") else "left")
    for d in rows:
        style = {"sent": "green", "parked": "red"}.get(d.state, "yellow")
        moment = d.sent_at if d.state == "sent" else d.next_attempt_at
        add_row(
            table,
            d.id,
            d.route,
            d.channel,
            cell(d.state, style),
            d.attempts,
            when(moment, now),
            d.subject[:70],
        )
        if d.last_error and d.state != "sent":
            add_row(table, "", "", "", "", "", "", cell(d.last_error[:100], "red"))
    return table
