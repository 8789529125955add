"""The sample corpus as a user meets it: copies recognised, the event told as one story."""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.core.types import AddressPolicy, Entry, FeedSpec, PollUpdate
from monitor.dedup.decide import EXACT_COPIES
from monitor.parse.entries import Limits
from monitor.parse.feeds import parse_feed
from monitor.store.repository import Repository
from tests.alert.world import FEEDS, cycle, open_app, sample_config
from tests.cli.test_commands import monitor
from tests.conftest import ROOT, FakeClock, sample_copy
from tests.watchlist.test_watchlist_cli import EVENT

WIRE = "NATO chief confirms North Korean troops deployed to Russia's Kursk region"
REPRINT = "North Korean units are now in Kursk, NATO's Rutte says"
SPUN = "NATO boss confirms North Korean troopers deployed to Russia's Kursk area"
OIL = "Oil prices slide after Israeli strikes on Iran spare energy facilities"
SPUN_OIL = "Oil costs slide after Israeli strikes on Iran spare power services"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return sample_copy(tmp_path)


@pytest.fixture
def corpus(
    sample: Path, tmp_path: Path, db_url: str
) -> tuple[dict[str, dict[str, object]], dict[str, str]]:
    env = {"MONITOR_DATABASE_URL": db_url}
    monitor("run", "--once", cwd=sample, env=env)
    out = tmp_path / "export.jsonl"
    monitor("articles", "export", "-o", str(out), cwd=sample, env=env)
    articles = [json.loads(line) for line in out.read_text().splitlines()]
    return {a["title"]: a for a in articles}, env


def test_copies_are_linked_to_their_original_and_say_why(
    corpus: tuple[dict[str, dict[str, object]], dict[str, str]],
) -> None:
    articles, _ = corpus
    copies = {
        title: (a["duplicate_of"], a["duplicate_reason"])
        for title, a in articles.items()
        if a["duplicate_of"]
    }
    assert copies == {
        REPRINT: (articles[WIRE]["id"], "reprint"),
        SPUN: (articles[WIRE]["id"], "spun"),
        SPUN_OIL: (articles[OIL]["id"], "spun"),
    }
    similarity = articles[SPUN]["similarity"]
    assert isinstance(similarity, dict)
    assert similarity["names"] >= 0.9  # a spinner leaves "Rutte" and "Kursk" alone


def test_the_event_is_one_story_and_unrelated_articles_stay_apart(
    corpus: tuple[dict[str, dict[str, object]], dict[str, str]],
) -> None:
    articles, _ = corpus
    event_stories = {articles[title]["story_id"] for title in EVENT}
    assert len(event_stories) == 1
    others = [a["story_id"] for title, a in articles.items() if title not in EVENT]
    # Unrelated articles (South Korean rates, Moldova's election, oil) never join it;
    # only the oil story has two articles, the spun copy and its original.
    assert event_stories.isdisjoint(others)
    assert sorted(others.count(s) for s in set(others)) == [1] * (len(set(others)) - 1) + [2]


def test_explain_and_stories_list_show_the_decisions(
    sample: Path,
    corpus: tuple[dict[str, dict[str, object]], dict[str, str]],
) -> None:
    articles, env = corpus
    spun = monitor("explain", str(articles[SPUN]["id"]), cwd=sample, env=env).stdout
    assert f"copy (spun) of {articles[WIRE]['id']}" in spun
    assert "names 1.0" in spun
    allies = next(t for t in EVENT if t.startswith("NATO allies"))
    joined = monitor("explain", str(articles[allies]["id"]), cwd=sample, env=env).stdout
    assert "original" in joined
    assert "joined for the names" in joined and "rutte" in joined

    listed = monitor("stories", "list", "--since", "3000w", cwd=sample, env=env).stdout
    assert "5 articles" in listed
    assert "The Daily Courier" in listed  # its exact copy, stored as a link, is a source
    assert listed.index("5 articles") < listed.index("2 articles")  # the largest first


def test_purging_bodies_keeps_copies_and_stories(
    sample: Path, tmp_path: Path, corpus: tuple[dict[str, dict[str, object]], dict[str, str]]
) -> None:
    articles, env = corpus
    purged = monitor("articles", "purge", "--older-than", "0d", cwd=sample, env=env)
    assert f"purged the bodies of {len(articles)} articles" in purged.stderr
    out = tmp_path / "after.jsonl"
    monitor("articles", "export", "-o", str(out), cwd=sample, env=env)
    after = {a["title"]: a for a in map(json.loads, out.read_text().splitlines())}
    assert all(a["content"] == "" and a["summary"] == "" for a in after.values())
    keep = ("duplicate_of", "duplicate_reason", "story_id", "matches")
    assert {t: [a[k] for k in keep] for t, a in after.items()} == {
        t: [a[k] for k in keep] for t, a in articles.items()
    }


def test_with_duplicates_disabled_articles_wait_and_are_compared_later(
    sample: Path, tmp_path: Path
) -> None:
    env = {"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'off.db'}"}
    off = monitor("run", "--once", cwd=sample, env=env | {"MONITOR_DUPLICATES_ENABLED": "false"})
    assert "Copies and stories" not in off.stdout
    out = tmp_path / "off.jsonl"
    monitor("articles", "export", "-o", str(out), cwd=sample, env=env)
    assert all(json.loads(line)["story_id"] is None for line in out.read_text().splitlines())
    on = monitor("run", "--once", cwd=sample, env=env)
    assert "Copies and stories: 18 articles compared; 3 copies" in on.stdout


@pytest.mark.parametrize("first", sorted(FEEDS))
def test_the_event_is_one_story_whichever_feed_is_read_first(
    tmp_path: Path, db_url: str, first: str
) -> None:
    """Several workers poll feeds in any order; each poll's articles are compared before
    the next feed's come in. A short analysis read before the wire report used to
    start a story of its own that the report, naming far more, did not join."""
    order = [first, *sorted(set(FEEDS) - {first})]
    app = open_app(
        sample_config(tmp_path, db_url, "  []"), FakeClock(datetime(2024, 11, 5, tzinfo=UTC))
    )

    async def poll_one_feed_at_a_time() -> None:
        try:
            claimed = app.repo.claim_feeds(app.clock.now(), 100, app.config.policy(), every=True)
            by_file = {feed.url.rsplit("/", 1)[-1]: feed for feed in claimed}
            for name in order:
                await app.poller.poll(by_file[name])
                await app.flow.near()
        finally:
            await app.fetcher.aclose()
            await app.alerts.aclose()

    with app:
        asyncio.run(poll_one_feed_at_a_time())
        stories = {a["title"]: a["story_id"] for a in app.repo.export_articles()}
    assert len({stories[title] for title in EVENT}) == 1
    assert stories[OIL] not in {stories[title] for title in EVENT}


# --- which exact copy is the original ----------------------------------------------

AFTER_THE_SAMPLE = datetime(2024, 11, 13, 12, 0, tzinfo=UTC)


def _sample_entries() -> dict[str, tuple[Entry, ...]]:
    feeds = ROOT / "corpus" / "feeds"
    return {
        name: parse_feed(
            (feeds / name).read_bytes(), None, f"https://{name}/", AFTER_THE_SAMPLE, Limits()
        ).entries
        for name in FEEDS
    }


def test_the_earliest_published_exact_copy_is_the_original_in_every_order(
    tmp_path: Path,
) -> None:
    """Polls finish in any order: the wire's story (14:32) stays the original of the
    Courier's utm-tagged copy (15:05) and Eurasia Monitor's (15:20), whichever came first.
    Only these three feeds share an exact copy (the outcome below says so), so every
    order of them is tried, with the other two feeds arriving before, between or after."""
    entries = _sample_entries()
    holders = ("globalwire.rss", "daily-courier.atom", "eurasia-monitor.json")
    others = [name for name in FEEDS if name not in holders]
    empty = tmp_path / "empty.db"
    Repository.open(f"sqlite:///{empty}").close()
    outcomes = set()
    for n, three in enumerate(itertools.permutations(holders)):
        order = list(three)
        for k, other in enumerate(others):
            order.insert((n + 2 * k) % (len(order) + 1), other)
        db = tmp_path / f"{n}.db"
        shutil.copy(empty, db)
        repo = Repository.open(f"sqlite:///{db}", exact=EXACT_COPIES)
        try:
            for minute, name in enumerate(order):
                repo.add_feed(FeedSpec(url=f"https://{name}/"), "cli", AFTER_THE_SAMPLE)
                [feed] = repo.due_feeds(AFTER_THE_SAMPLE, 10, AddressPolicy())
                at = AFTER_THE_SAMPLE + timedelta(minutes=minute)
                update = PollUpdate(feed.id, "ok", at, at + timedelta(days=1))
                repo.save_poll(feed, update, entries[name])
            outcomes.add(
                tuple(
                    (
                        a["feed_url"],
                        a["title"],
                        a["published"],
                        tuple(sorted(c["feed_url"] for c in a["copies"])),
                    )
                    for a in repo.export_articles()
                    if a["copies"]
                )
            )
        finally:
            repo.close()
    assert outcomes == {
        (
            (
                "https://globalwire.rss/",
                WIRE,
                "2024-10-28T14:32:00+00:00",
                ("https://daily-courier.atom/", "https://eurasia-monitor.json/"),
            ),
        )
    }


def test_an_alert_sent_for_a_copy_is_not_sent_again_when_its_original_arrives(
    tmp_path: Path, clock: FakeClock
) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    routes = f"  - {{name: desk, file: {{dir: '{tmp_path / 'out'}'}}, schedule: instant}}"
    courier = {"daily-courier.atom": FEEDS["daily-courier.atom"]}
    with open_app(sample_config(tmp_path, db, routes, feeds=courier), clock) as app:
        first = cycle(app)
        [alert] = [d for d in app.repo.deliveries() if "North Korean troops" in d.subject]
    assert first.sent >= 1
    clock.advance(minutes=30)
    later = (
        f"{routes}\n  - {{name: later, file: {{dir: '{tmp_path / 'later'}'}}, schedule: every 1h}}"
    )
    with open_app(sample_config(tmp_path, db, later), clock) as app:
        cycle(app)
        troops = [d for d in app.repo.deliveries() if "North Korean troops" in d.subject]
        articles = {a["title"]: a for a in app.repo.export_articles()}
    assert [d.id for d in troops if d.route == "desk"] == [alert.id]  # not sent again
    wire = articles[WIRE]
    assert (wire["feed_url"].rsplit("/", 1)[-1], wire["published"]) == (
        "globalwire.rss",
        "2024-10-28T14:32:00+00:00",
    )
    # The route's digest leads with the wire's story, the Courier's copy is a source of it.
    [digest] = (tmp_path / "later").glob("*.json")
    story = next(
        e
        for g in json.loads(digest.read_text())["groups"]
        for e in g["entries"]
        if e["title"] == WIRE
    )
    assert (
        story["url"] == "https://globalwire.example/world/2024/10/28/nato-north-korea-troops-kursk"
    )
