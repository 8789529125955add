"""The whole flow on feeds written in Python (tests/fakes.py): no HTTP, a real SQLite."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor import config
from monitor.app import App
from monitor.core.types import FetchResult
from monitor.daemon import Daemon
from monitor.flow import FlowReport, Hooks
from tests.conftest import FakeClock
from tests.fakes import FakeFetcher, FakeParser

WIRE = "https://wire.example/feed"
SITE = "https://site.example/feed"
DOWN = "https://down.example/feed"  # when a test makes it fail
STORY = (
    "Officials confirmed on Monday that a military convoy had crossed the border overnight, "
    "and that more units were expected to follow within days, according to a statement "
    "released by the ministry after a meeting of the security council in the capital."
)
OTHER = (
    "The city council approved the budget for the new library on Tuesday evening, "
    "after a long debate about opening hours and the cost of heating the old building."
)
WATCHLIST = """\
name: convoys
actors:
  convoy: [convoy, convoys]
concepts:
  border:
    terms: [border, frontier]
rules:
  convoy_at_border:
    all: [convoy, border]
"""


@pytest.fixture
def parser() -> FakeParser:
    parser = FakeParser()
    for url in (WIRE, SITE, DOWN):
        parser.add_feed(url, title=url.split("/")[2])
    return parser


@pytest.fixture
def fetcher() -> FakeFetcher:
    return FakeFetcher()


def open_app(
    tmp: Path, clock: Any, fetcher: FakeFetcher, parser: FakeParser, name: str = "m"
) -> App:
    """Three feeds, a watchlist on convoys at the border, an instant route to files."""
    (tmp / "watchlists").mkdir(exist_ok=True)
    (tmp / "watchlists" / "convoys.yaml").write_text(WATCHLIST)
    text = (
        f"database: {{url: 'sqlite:///{tmp / name}.db'}}\n"
        "polling: {parse_workers: 0}\n"
        f"feeds: [{{url: {WIRE}}}, {{url: {SITE}}}, {{url: {DOWN}}}]\n"
        f"routes:\n  - {{name: desk, file: {{dir: out-{name}}}, schedule: instant}}\n"
    )
    app = App(config.from_text(text, tmp), clock=clock, fetcher=fetcher, parser=parser)
    app.sync_feeds()
    return app


def once(app: App, every: bool = True, hooks: Hooks | None = None) -> FlowReport:
    return asyncio.run(app.flow.once(every, hooks or Hooks()))


def test_new_articles_go_through_near_match_and_alert_in_one_pass(
    tmp_path: Path, clock: FakeClock, fetcher: FakeFetcher, parser: FakeParser
) -> None:
    parser.add_entry(WIRE, "w1", "Convoy crosses the border", STORY, "https://wire.example/1")
    parser.add_entry(SITE, "s1", "Library budget approved", OTHER, "https://site.example/1")
    steps: list[str] = []
    with open_app(tmp_path, clock, fetcher, parser) as app:
        done = once(app, hooks=Hooks(step=steps.append))
        assert (done.cycle.totals.new, done.near.articles) == (2, 2)
        assert (done.matched.articles, done.matched.matches) == (2, 1)
        assert (done.sent.alerts, done.sent.sent) == (1, 1)
        [delivery] = app.repo.deliveries()
    assert "Convoy crosses the border" in delivery.subject
    assert len(list((tmp_path / "out-m").glob("desk-alert-*.eml"))) == 1
    assert steps == ["near", "match", "alert"]
    assert fetcher.closed == 1  # once polling is done, not at the end


def test_a_copy_arriving_on_a_second_feed_is_a_copy_and_not_alerted_again(
    tmp_path: Path, clock: FakeClock, fetcher: FakeFetcher, parser: FakeParser
) -> None:
    parser.add_entry(WIRE, "w1", "Convoy crosses the border", STORY, "https://wire.example/1")
    with open_app(tmp_path, clock, fetcher, parser) as app:
        assert once(app).sent.alerts == 1
        # The same story on the site, a day later: its own guid, the wire's link tagged.
        parser.add_entry(
            SITE, "s1", "Convoy crosses the border", STORY, "https://wire.example/1?utm_source=x"
        )
        clock.advance(days=1)
        done = once(app)
        assert (done.cycle.totals.new, done.cycle.totals.duplicates) == (0, 1)
        assert (done.matched.matches, done.sent.alerts) == (0, 0)
        [article] = list(app.repo.export_articles())
        assert len(article["copies"]) == 1
        assert len(app.repo.deliveries()) == 1


def test_a_fetch_error_on_one_feed_stops_nothing(
    tmp_path: Path, clock: FakeClock, fetcher: FakeFetcher, parser: FakeParser
) -> None:
    parser.add_entry(WIRE, "w1", "Convoy crosses the border", STORY)
    parser.add_entry(DOWN, "d1", "Never seen", OTHER)
    fetcher.fail(DOWN, "timeout", "timed out after 5s")
    fetcher.results[SITE] = RuntimeError("a bug in the fetcher")
    with open_app(tmp_path, clock, fetcher, parser) as app:
        done = once(app)
        statuses = {f.url: f.status for f in done.cycle.feeds}
        assert statuses == {WIRE: "ok", SITE: "internal_error", DOWN: "timeout"}
        assert (done.cycle.totals.new, done.matched.matches, done.sent.alerts) == (1, 1, 1)
        health = {f.url: f for f in app.repo.feeds()}
    assert (health[DOWN].last_error, health[DOWN].error_count) == ("timed out after 5s", 1)


def test_a_parse_error_is_recorded_on_its_feed(
    tmp_path: Path, clock: FakeClock, fetcher: FakeFetcher, parser: FakeParser
) -> None:
    parser.add_entry(WIRE, "w1", "Convoy crosses the border", STORY)
    parser.break_feed(SITE, "not a feed: <html> at line 1")
    with open_app(tmp_path, clock, fetcher, parser) as app:
        done = once(app)
        assert {f.url: f.status for f in done.cycle.feeds}[SITE] == "parse_error"
        assert done.cycle.totals.new == 1
        site = {f.url: f for f in app.repo.feeds()}[SITE]
    assert (site.status, site.last_error) == ("parse_error", "not a feed: <html> at line 1")


def test_a_feed_not_modified_brings_nothing_new_to_process(
    tmp_path: Path, clock: FakeClock, fetcher: FakeFetcher, parser: FakeParser
) -> None:
    parser.add_entry(WIRE, "w1", "Convoy crosses the border", STORY)
    with open_app(tmp_path, clock, fetcher, parser) as app:
        once(app)
        fetcher.results[WIRE] = FetchResult("not_modified", 304)
        clock.advance(hours=1)
        done = once(app)
    assert done.cycle.count("not_modified") == 1
    assert (done.near.articles, done.matched.articles, done.sent.alerts) == (0, 0, 0)


def test_the_daemon_and_run_once_come_to_the_same_result(
    tmp_path: Path, fetcher: FakeFetcher, parser: FakeParser
) -> None:
    """Both run the one flow: the same articles, copies, matches and alerts."""
    parser.add_entry(WIRE, "w1", "Convoy crosses the border", STORY, "https://wire.example/1")
    parser.add_entry(
        SITE, "s1", "Convoy crosses the border", STORY, "https://wire.example/1?utm_source=x"
    )
    parser.add_entry(SITE, "s2", "Library budget approved", OTHER, "https://site.example/2")
    fetcher.fail(DOWN)
    # The daemon's scheduler runs on the wall clock: its first poll is due "now".
    clock = FakeClock(datetime.now(UTC))
    with open_app(tmp_path, clock, fetcher, parser, "once") as app:
        once(app, every=False)
        by_once = outcome(app)
    with open_app(tmp_path, clock, fetcher, parser, "daemon") as app:
        asyncio.run(run_daemon_until_sent(app))
        by_daemon = outcome(app)
    assert by_daemon == by_once
    assert by_once["deliveries"] == [("desk", "sent", by_once["deliveries"][0][2])]


def outcome(app: App) -> dict[str, Any]:
    articles = [
        (a["title"], len(a["copies"]), [m["rule"] for m in a["matches"]])
        for a in app.repo.export_articles()
    ]
    feeds = sorted((f.url, f.status) for f in app.repo.feeds())
    deliveries = [(d.route, d.state, d.subject) for d in app.repo.deliveries()]
    return {"articles": articles, "feeds": feeds, "deliveries": deliveries}


async def run_daemon_until_sent(app: App, timeout: float = 30) -> None:
    daemon = Daemon(app)
    running = asyncio.create_task(daemon.run())
    try:
        async with asyncio.timeout(timeout):
            while not app.repo.deliveries(state="sent"):
                await asyncio.sleep(0.05)
    finally:
        daemon.request_stop()
        await running
        await app.flow.aclose()


def test_a_reworded_copy_is_a_near_copy_and_not_alerted_again(
    tmp_path: Path, clock: FakeClock, fetcher: FakeFetcher, parser: FakeParser
) -> None:
    parser.add_entry(WIRE, "w1", "Convoy crosses the border", STORY, "https://wire.example/1")
    with open_app(tmp_path, clock, fetcher, parser) as app:
        assert once(app).sent.alerts == 1
        reprint = STORY + " Reporting by the site's own correspondent in the region."
        parser.add_entry(SITE, "s1", "Convoy crossed border", reprint, "https://site.example/1")
        clock.advance(hours=1)
        done = once(app)
        assert (done.cycle.totals.new, done.near.articles, done.near.copies) == (1, 1, 1)
        assert done.sent.alerts == 0
        assert len(app.repo.deliveries()) == 1
