"""A whole polling cycle: loopback feeds and local files, through to the database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from monitor import config as config_module
from monitor.app import App
from monitor.core.types import CycleReport
from tests.conftest import FakeClock
from tests.feedserver import FeedServer, feed, rss, status

STORY = (
    "Officials confirmed on Monday that a convoy had crossed the border overnight, "
    "and that more units were expected to follow within days, according to a statement."
)


def make_app(
    tmp_path: Path, db_url: str, clock: FakeClock, feeds: list[str], extra: str = ""
) -> App:
    lines = [
        f"database:\n  url: {db_url}",
        "polling:\n  parse_workers: 0\n  timeout: 5s" + extra,
        "network:\n  allow_private: [127.0.0.2/32]",
        "feeds:",
    ]
    lines += [f"  - url: {url}" for url in feeds]
    path = tmp_path / "monitor.yaml"
    path.write_text("\n".join(lines) + "\n")
    app = App(config_module.load(path, env={}), clock=clock)
    app.sync_feeds()
    return app


def cycle(
    app: App, every: bool = False, on_start: Callable[[int], None] | None = None
) -> CycleReport:
    async def go() -> CycleReport:
        try:
            return await app.poller.run_cycle(every=every, on_start=on_start)
        finally:
            await app.fetcher.aclose()

    return asyncio.run(go())


def by_url(report: CycleReport) -> dict[str, str]:
    return {f.url: f.status for f in report.feeds}


def test_one_broken_feed_does_not_stop_the_others(
    tmp_path: Path, db_url: str, clock: FakeClock, server: FeedServer
) -> None:
    server.routes["/good"] = feed(
        rss({"guid": "g1", "title": "Convoy crosses border", "description": STORY})
    )
    server.routes["/broken"] = status(500)
    server.routes["/garbage"] = feed(b"<html>not a feed</html>", content_type="text/html")
    local = tmp_path / "local.rss"
    local.write_bytes(
        rss({"guid": "l1", "title": "Local story", "description": "A local story body."})
    )
    app = make_app(
        tmp_path,
        db_url,
        clock,
        [server.url("/good"), server.url("/broken"), server.url("/garbage"), str(local)],
    )
    try:
        report = cycle(app)
        statuses = by_url(report)
        assert statuses[server.url("/good")] == "ok"
        assert statuses[server.url("/broken")] == "http_500"
        assert statuses[server.url("/garbage")] == "parse_error"
        assert statuses[str(local)] == "ok"
        assert report.totals.new == 2
        health = {f.url: f for f in app.repo.feeds()}
        assert health[server.url("/broken")].last_error == "HTTP 500 Internal Server Error"
        assert health[server.url("/broken")].error_count == 1
    finally:
        app.close()


def test_second_cycle_uses_conditional_get_and_skips_parsing(
    tmp_path: Path, db_url: str, clock: FakeClock, server: FeedServer
) -> None:
    server.routes["/feed"] = feed(
        rss({"guid": "g1", "title": "Story", "description": STORY}), etag='"e1"'
    )
    app = make_app(tmp_path, db_url, clock, [server.url("/feed")])
    try:
        assert cycle(app).totals.new == 1
        clock.advance(hours=1)
        report = cycle(app)
        assert by_url(report) == {server.url("/feed"): "not_modified"}
        assert server.requests[-1]["If-None-Match"] == '"e1"'
    finally:
        app.close()


def test_retry_after_holds_the_next_poll(
    tmp_path: Path, db_url: str, clock: FakeClock, server: FeedServer
) -> None:
    server.routes["/feed"] = status(429, {"Retry-After": "7200"})
    app = make_app(tmp_path, db_url, clock, [server.url("/feed")])
    try:
        cycle(app)
        clock.advance(minutes=119)
        assert cycle(app).feeds == ()
        assert server.hits["/feed"] == 1
        clock.advance(minutes=2)
        assert len(cycle(app).feeds) == 1
        assert server.hits["/feed"] == 2
    finally:
        app.close()


def test_a_moved_feed_is_polled_at_its_new_url(
    tmp_path: Path, db_url: str, clock: FakeClock, server: FeedServer
) -> None:
    server.routes["/old"] = status(301, {"Location": server.url("/new")})
    server.routes["/new"] = feed(rss({"guid": "g1", "title": "Story", "description": STORY}))
    app = make_app(tmp_path, db_url, clock, [server.url("/old")])
    try:
        assert by_url(cycle(app)) == {server.url("/old"): "moved"}
        report = cycle(app, every=True)
        assert list(by_url(report)) == [server.url("/new")]
        assert (server.hits["/old"], server.hits["/new"]) == (1, 2)
    finally:
        app.close()


def test_a_gone_feed_stops_and_says_so(
    tmp_path: Path, db_url: str, clock: FakeClock, server: FeedServer
) -> None:
    server.routes["/feed"] = status(410)
    app = make_app(tmp_path, db_url, clock, [server.url("/feed")])
    try:
        cycle(app)
        clock.advance(days=3)
        assert cycle(app, every=True).feeds == ()
        [info] = app.repo.feeds(include_inactive=True)
        assert (info.active, info.status) == (False, "gone")
        assert "410" in (info.last_error or "")
    finally:
        app.close()


def test_the_same_story_from_two_feeds_is_stored_once(
    tmp_path: Path, db_url: str, clock: FakeClock, server: FeedServer
) -> None:
    server.routes["/wire"] = feed(
        rss(
            {
                "guid": "w1",
                "link": "https://wire.example/story",
                "title": "Convoy",
                "description": STORY,
            }
        )
    )
    server.routes["/site"] = feed(
        rss(
            {
                "guid": "s1",
                "link": "https://wire.example/story?utm_source=site&amp;fbclid=9",
                "title": "Convoy (via wire)",
                "description": STORY,
            }
        )
    )
    app = make_app(tmp_path, db_url, clock, [server.url("/wire"), server.url("/site")])
    try:
        report = cycle(app)
        assert (report.totals.new, report.totals.duplicates) == (1, 1)
        [article] = list(app.repo.export_articles())
        assert len(article["copies"]) == 1
    finally:
        app.close()


def test_a_feed_on_a_private_address_is_refused(
    tmp_path: Path, clock: FakeClock, forbidden: FeedServer
) -> None:
    forbidden.routes["/feed"] = feed(rss({"guid": "1", "title": "x"}))
    app = make_app(tmp_path, f"sqlite:///{tmp_path}/m.db", clock, [forbidden.url("/feed")])
    try:
        report = cycle(app)
        assert by_url(report) == {forbidden.url("/feed"): "blocked"}
        assert forbidden.hits["/feed"] == 0
    finally:
        app.close()


def test_a_304_cycle_saves_the_state_of_every_feed(
    tmp_path: Path, db_url: str, clock: FakeClock, server: FeedServer
) -> None:
    urls = []
    for i in range(12):
        server.routes[f"/f{i}"] = feed(
            rss({"guid": f"g{i}", "title": "Story", "description": STORY}), etag=f'"e{i}"'
        )
        urls.append(server.url(f"/f{i}"))
    app = make_app(tmp_path, db_url, clock, urls)
    try:
        cycle(app)
        clock.advance(hours=1)
        told: list[int] = []
        report = cycle(app, every=True, on_start=told.append)
        assert told == [12]
        assert report.count("not_modified") == 12
        for info in app.repo.feeds():
            assert (info.status, info.http_status, info.error_count) == ("not_modified", 304, 0)
            assert info.last_polled_at == clock.now()
            assert info.next_poll_at is not None and info.next_poll_at > clock.now()
    finally:
        app.close()


def test_when_storage_fails_every_feed_says_so_and_none_is_marked_polled(
    tmp_path: Path, db_url: str, clock: FakeClock, server: FeedServer
) -> None:
    urls = []
    for i in range(5):
        server.routes[f"/f{i}"] = feed(rss({"guid": f"g{i}", "title": "S", "description": STORY}))
        urls.append(server.url(f"/f{i}"))
    app = make_app(tmp_path, db_url, clock, urls)

    def broken(polls: object) -> None:
        raise OSError("disk full")

    app.repo.save_polls = broken  # type: ignore[assignment,method-assign]
    try:
        report = cycle(app)
        assert report.count("storage_error") == 5
        assert all("disk full" in (f.error or "") for f in report.feeds)
        assert {info.status for info in app.repo.feeds()} == {"new"}
    finally:
        app.close()


def test_cycles_in_separate_event_loops_with_more_feeds_than_slots(
    tmp_path: Path, clock: FakeClock, server: FeedServer
) -> None:
    urls = []
    count = 70  # more than the 64 feeds allowed between fetch and save: some wait
    for i in range(count):
        server.routes[f"/s{i}"] = feed(rss({"guid": f"s{i}", "title": "S", "description": STORY}))
        urls.append(server.url(f"/s{i}"))
    limits = "\n  per_host: 100\n  concurrency: 100"
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", clock, urls, limits)
    try:
        assert cycle(app).count("ok") == count
        clock.advance(hours=1)
        assert cycle(app, every=True).count("not_modified") == count
    finally:
        app.close()
