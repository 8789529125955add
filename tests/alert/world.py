"""A monitor on the sample corpus, with routes a test chooses, run cycle by cycle."""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from monitor import config
from monitor.alert.stage import AlertReport
from monitor.app import App
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parents[2]
FEEDS = {
    "globalwire.rss": "Global Wire",
    "daily-courier.atom": "The Daily Courier",
    "eurasia-monitor.json": "Eurasia Monitor",
    "newsfarm.rss": "NewsFarm Daily",
    "policy-review.rss": "Policy Review",
}
# What the sample corpus holds for the watchlists: four stories, one of five articles.
EVENT_TITLE = "NATO chief confirms North Korean troops deployed to Russia's Kursk region"
SAMPLE_STORIES = 4


def sample_config(
    tmp: Path,
    db_url: str,
    routes: str,
    extra: str = "",
    feeds: dict[str, str] | None = None,
    polling: str = "parse_workers: 0",
) -> config.Config:
    """The sample corpus's feeds and watchlists, plus an ``extra.rss`` a test can write to."""
    shutil.copytree(ROOT / "corpus" / "feeds", tmp / "feeds", dirs_exist_ok=True)
    shutil.copytree(ROOT / "watchlists", tmp / "watchlists", dirs_exist_ok=True)
    write_feed(tmp / "feeds" / "extra.rss", [])
    listed = (FEEDS if feeds is None else feeds) | {"extra.rss": "Extra Times"}
    feed_lines = "\n".join(
        f"  - {{url: feeds/{name}, title: {title!r}}}" for name, title in listed.items()
    )
    text = (
        f"database: {{url: '{db_url}'}}\n"
        f"polling: {{{polling}}}\n"
        f"{extra}\n"
        f"feeds:\n{feed_lines}\n"
        f"routes:\n{routes}\n"
    )
    (tmp / "monitor.yaml").write_text(text)  # for tests that run the command line
    return config.from_text(text, tmp)


def write_feed(path: Path, items: list[tuple[str, str, str, datetime]]) -> None:
    """An RSS 2.0 file of (guid, title, text, published) items."""
    body = "".join(
        f"<item><guid>{escape(guid)}</guid><title>{escape(title)}</title>"
        f"<link>https://extra.example/{escape(guid)}</link>"
        f"<description>{escape(text)}</description>"
        f"<pubDate>{published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for guid, title, text, published in items
    )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Extra Times</title><link>https://extra.example/</link>{body}</channel></rss>",
        encoding="utf-8",
    )


def cycle(app: App) -> AlertReport:
    """One poll of every feed, then copies, matches and alerts, as the daemon runs them."""

    async def run() -> AlertReport:
        try:
            await app.poller.run_cycle(every=True)
            await app.flow.near()
            await app.flow.match()
            return await app.flow.alert()
        finally:
            await app.fetcher.aclose()
            await app.alerts.aclose()

    return asyncio.run(run())


def ingest(app: App) -> None:
    """A poll of every feed, copies and matches; no alerts."""

    async def run() -> None:
        try:
            await app.poller.run_cycle(every=True)
            await app.flow.near()
            await app.flow.match()
        finally:
            await app.fetcher.aclose()

    asyncio.run(run())


def alerts_only(app: App) -> AlertReport:
    async def run() -> AlertReport:
        try:
            return await app.flow.alert()
        finally:
            await app.alerts.aclose()

    return asyncio.run(run())


def open_app(cfg: config.Config, clock: FakeClock) -> App:
    app = App(cfg, clock=clock)
    app.sync_feeds()
    return app
