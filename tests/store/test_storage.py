"""Storage, on SQLite and on the local PostgreSQL alike."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.core.errors import SchemaTooNewError, StorageError
from monitor.core.types import AddressPolicy, Entry, Feed, FeedSpec, IngestCounts, PollUpdate
from monitor.dedup.decide import EXACT_COPIES
from monitor.dedup.keys import with_hashes
from monitor.near.filing import text_keys
from monitor.store import schema
from monitor.store.repository import Repository

NOW = datetime(2024, 11, 8, 12, 0, tzinfo=UTC)
WIRE_TEXT = (
    "NATO's secretary general said on Monday that North Korean troops had been sent to Russia "
    "and that some units were deployed in the Kursk region, a significant escalation."
)


def entry(
    guid: str | None, url: str | None, title: str = "Title", body: str = WIRE_TEXT, **kw: object
) -> Entry:
    from monitor.dedup.urls import canonical_url

    fields: dict[str, object] = {
        "guid": guid,
        "url": url,
        "canonical_url": canonical_url(url) if url else None,
        "title": title,
        "summary": body,
        "content": "",
        "authors": (),
        "language": "en",
        "published": NOW - timedelta(hours=1),
    }
    fields.update(kw)
    return with_hashes(Entry(**fields))  # type: ignore[arg-type]


@pytest.fixture
def repo(db_url: str) -> Iterator[Repository]:
    repository = Repository.open(db_url, exact=EXACT_COPIES)
    yield repository
    repository.close()


def add(repo: Repository, url: str) -> Feed:
    repo.add_feed(FeedSpec(url=url), "cli", NOW)
    return next(f for f in repo.due_feeds(NOW, 100, AddressPolicy()) if f.url == url)


def save(
    repo: Repository, feed: Feed, *entries: Entry, at: datetime = NOW
) -> tuple[object, list[object]]:
    update = PollUpdate(
        feed_id=feed.id, status="ok", polled_at=at, next_poll_at=at + timedelta(minutes=15)
    )
    return repo.save_poll(feed, update, list(entries))  # type: ignore[return-value]


def test_migrations_create_the_schema_and_record_the_head(db_url: str) -> None:
    repo = Repository.open(db_url)
    try:
        assert schema.current(repo.engine) == schema.head() == schema.HEAD
    finally:
        repo.close()


def test_a_worker_on_a_current_database_does_not_load_the_migration_tools(
    db_url: str, tmp_path: Path
) -> None:
    """Each worker would keep alembic and mako in memory (about 10 MB) for nothing."""
    Repository.open(db_url).close()  # migrated here
    opened = f"from monitor.store.repository import Repository; Repository.open({db_url!r}).close()"
    check = "import sys; assert 'alembic' not in sys.modules and 'mako' not in sys.modules"
    subprocess.run([sys.executable, "-c", f"{opened}; {check}"], check=True, cwd=tmp_path)


def test_a_database_from_a_newer_monitor_is_refused(db_url: str) -> None:
    repo = Repository.open(db_url)
    with repo.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    repo.close()
    with pytest.raises(SchemaTooNewError, match="newer monitor"):
        Repository.open(db_url)


def test_the_models_and_the_migrations_agree(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from monitor.store.models import Base

    repo = Repository.open(db_url)
    try:
        with repo.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        repo.close()
    assert diff == []


def test_a_repository_without_the_exact_copy_rules_saves_no_entries(db_url: str) -> None:
    """It reads, and saves a poll without entries; entries need the rules to be told apart."""
    plain = Repository.open(db_url)
    try:
        feed = add(plain, "https://wire.example/rss")
        counts, _ = save(plain, feed)
        assert counts == IngestCounts()
        with pytest.raises(TypeError, match="EXACT_COPIES"):
            save(plain, feed, entry("g1", "https://wire.example/a"))
        assert plain.count_articles() == 0
    finally:
        plain.close()


def test_the_same_guid_is_one_article_and_a_changed_entry_an_update(repo: Repository) -> None:
    feed = add(repo, "https://wire.example/rss")
    counts, _ = save(repo, feed, entry("g1", "https://wire.example/a"))
    assert counts.new == 1  # type: ignore[attr-defined]
    counts, _ = save(repo, feed, entry("g1", "https://wire.example/a"))
    assert counts.unchanged == 1  # type: ignore[attr-defined]
    counts, _ = save(repo, feed, entry("g1", "https://wire.example/a", title="Title (updated)"))
    assert counts.updated == 1  # type: ignore[attr-defined]
    [article] = list(repo.export_articles())
    assert (article["title"], article["update_count"]) == ("Title (updated)", 1)


def test_a_syndicated_copy_is_a_link_to_the_first_article_with_its_source(repo: Repository) -> None:
    wire = add(repo, "https://wire.example/rss")
    courier = add(repo, "https://courier.example/atom")
    save(repo, wire, entry("w1", "https://wire.example/story"))
    counts, _ = save(
        repo, courier, entry("c1", "https://WIRE.example:443/story?utm_source=courier#top")
    )
    assert counts.duplicates == 1  # type: ignore[attr-defined]
    [article] = list(repo.export_articles())
    assert article["feed_url"] == "https://wire.example/rss"
    assert [(c["feed_url"], c["reason"]) for c in article["copies"]] == [
        ("https://courier.example/atom", "url")
    ]
    counts, _ = save(
        repo, courier, entry("c1", "https://WIRE.example:443/story?utm_source=courier#top")
    )
    assert (counts.duplicates, counts.unchanged) == (0, 1)  # type: ignore[attr-defined]


def test_the_same_text_under_another_url_is_a_copy(repo: Repository) -> None:
    wire = add(repo, "https://wire.example/rss")
    other = add(repo, "https://other.example/rss")
    save(repo, wire, entry("w1", "https://wire.example/story"))
    counts, _ = save(
        repo, other, entry("o1", "https://other.example/x", body=WIRE_TEXT.upper() + "  ")
    )
    assert counts.duplicates == 1  # type: ignore[attr-defined]
    assert repo.count_articles() == 1


def test_a_deleted_article_never_comes_back(repo: Repository) -> None:
    wire = add(repo, "https://wire.example/rss")
    other = add(repo, "https://other.example/rss")
    save(repo, wire, entry("w1", "https://wire.example/story"))
    [article] = list(repo.export_articles())
    assert repo.delete_article(article["id"], text_keys)
    counts, _ = save(repo, wire, entry("w1", "https://wire.example/story"))
    assert (counts.new, counts.tombstoned) == (0, 1)  # type: ignore[attr-defined]
    counts, _ = save(repo, other, entry("o9", "https://wire.example/story"))
    assert (counts.new, counts.tombstoned) == (0, 1)  # type: ignore[attr-defined]
    assert repo.count_articles() == 0


def test_colliding_guids_in_one_feed_are_kept_apart_and_stable(repo: Repository) -> None:
    feed = add(repo, "https://farm.example/rss")
    batch = [
        entry("same", "https://farm.example/a", body="first " * 30),
        entry("same", "https://farm.example/b", body="second " * 30),
    ]
    counts, _ = save(repo, feed, *batch)
    assert counts.new == 2  # type: ignore[attr-defined]
    counts, _ = save(repo, feed, *batch)
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 2)  # type: ignore[attr-defined]


def test_nul_bytes_and_odd_text_are_stored_on_both_databases(repo: Repository) -> None:
    from monitor.text.plain import clean

    feed = add(repo, "https://odd.example/rss")
    title = clean("Zürich café \x00 naïve — 東京 \U0001f600", 1000)
    save(repo, feed, entry("g", "https://odd.example/" + "x" * 5000, title=title))
    [article] = list(repo.export_articles())
    assert article["title"] == "Zürich café naïve — 東京 \U0001f600"
    assert len(article["url"]) > 5000


def test_the_feed_state_is_saved_with_the_poll(repo: Repository) -> None:
    feed = add(repo, "https://wire.example/rss")
    update = PollUpdate(
        feed_id=feed.id,
        status="http_500",
        polled_at=NOW,
        next_poll_at=NOW + timedelta(minutes=2),
        http_status=500,
        error="HTTP 500",
        error_count=1,
        new_url="https://wire.example/new",
    )
    repo.save_poll(feed, update, [])
    [info] = repo.feeds()
    assert (info.status, info.last_error, info.error_count, info.url) == (
        "http_500",
        "HTTP 500",
        1,
        "https://wire.example/new",
    )
    assert info.next_poll_at == NOW + timedelta(minutes=2)
    assert repo.due_feeds(NOW, 10, AddressPolicy()) == []
    assert [f.id for f in repo.due_feeds(NOW + timedelta(minutes=3), 10, AddressPolicy())] == [
        feed.id
    ]


def test_a_gone_feed_is_no_longer_polled(repo: Repository) -> None:
    feed = add(repo, "https://wire.example/rss")
    repo.save_poll(
        feed,
        PollUpdate(feed_id=feed.id, status="gone", polled_at=NOW, next_poll_at=None, active=False),
        [],
    )
    assert repo.due_feeds(NOW + timedelta(days=30), 10, AddressPolicy(), every=True) == []
    [info] = repo.feeds(include_inactive=True)
    assert (info.active, info.status) == (False, "gone")


def test_a_group_of_polls_saves_the_state_of_every_feed(repo: Repository) -> None:
    repo.add_feed(FeedSpec(url="https://site1.example/rss", title="Mine"), "cli", NOW)
    fresh, unchanged, failing = (add(repo, f"https://site{i}.example/rss") for i in range(3))
    later, soon = NOW + timedelta(minutes=15), NOW + timedelta(minutes=1)
    lm, moved = "Fri, 08 Nov 2024 10:00:00 GMT", "https://x.example/rss"
    results = repo.save_polls(
        [
            (
                fresh,
                PollUpdate(fresh.id, "ok", NOW, later, 200, etag='"e0"', title="Site 0"),
                [entry("g1", "https://site0.example/a")],
            ),
            # A title from the feed never replaces the user's own.
            (
                unchanged,
                PollUpdate(
                    unchanged.id, "not_modified", NOW, later, 304, None, 0, '"e1"', lm, title="T"
                ),
                [],
            ),
            (
                failing,
                PollUpdate(failing.id, "http_500", NOW, soon, 500, "HTTP 500", 1, new_url=moved),
                [],
            ),
        ]
    )
    assert [r[0].new for r in results if not isinstance(r, StorageError)] == [1, 0, 0]
    info = {f.id: f for f in repo.feeds()}
    assert (info[fresh.id].status, info[fresh.id].title) == ("ok", "Site 0")
    assert (info[fresh.id].last_new_at, info[fresh.id].next_poll_at) == (NOW, later)
    assert (info[unchanged.id].status, info[unchanged.id].title) == ("not_modified", "Mine")
    assert (info[unchanged.id].last_polled_at, info[unchanged.id].last_new_at) == (NOW, None)
    assert (info[failing.id].status, info[failing.id].last_error) == ("http_500", "HTTP 500")
    assert (info[failing.id].error_count, info[failing.id].url) == (1, moved)
    assert info[failing.id].source_url == "https://site2.example/rss"
    polled = {f.id: f for f in repo.due_feeds(later, 10, AddressPolicy(), every=True)}
    assert (polled[unchanged.id].etag, polled[unchanged.id].last_modified) == ('"e1"', lm)
    assert polled[fresh.id].etag == '"e0"'


def test_a_poll_that_cannot_be_saved_does_not_lose_the_others(repo: Repository) -> None:
    good, bad = add(repo, "https://good.example/rss"), add(repo, "https://bad.example/rss")
    later = NOW + timedelta(minutes=15)
    naive = datetime(2024, 11, 8, 12, 15)  # the database refuses times without a zone
    results = repo.save_polls(
        [
            (good, PollUpdate(good.id, "not_modified", NOW, later, 304), []),
            (bad, PollUpdate(bad.id, "not_modified", NOW, naive, 304), []),
        ]
    )
    assert results[0] == (IngestCounts(), [])
    assert isinstance(results[1], StorageError)
    info = {f.id: f for f in repo.feeds()}
    assert (info[good.id].status, info[good.id].next_poll_at) == ("not_modified", later)
    assert (info[bad.id].status, info[bad.id].last_polled_at) == ("new", None)


def test_config_feeds_are_synced_and_dropped_ones_stop(repo: Repository) -> None:
    repo.sync_config_feeds(
        [FeedSpec(url="https://a.example/rss"), FeedSpec(url="https://b.example/rss")], NOW
    )
    repo.sync_config_feeds([FeedSpec(url="https://a.example/rss")], NOW)
    assert [f.url for f in repo.feeds()] == ["https://a.example/rss"]
    assert {f.url for f in repo.feeds(include_inactive=True)} == {
        "https://a.example/rss",
        "https://b.example/rss",
    }


# --- entries with neither GUID nor link ------------------------------------------

UNLINKED_FETCHES = {
    # feedparser psc/rss2.0simplechapter2items.xml: two dated episodes, titles only
    "dates": [("Vorhersage Donnerstag, 06.09.2012", ""), ("Vorhersage Donnerstag, 05.09.2012", "")],
    # miniflux TestParseEntryWithoutLinkAndWithoutGUID
    "numbered items": [("Item 1", ""), ("Item 2", "")],
    # gofeed atom/issue_275_extensions_and_source.xml: e3's body differs, e1, e2, e4 do not
    "short names": [("e1", ""), ("e2", ""), ("e3", '{"a":1}'), ("e4", "")],
    "builds with a body": [(f"Nightly build {n}", f"Build {n} ships. {WIRE_TEXT}") for n in (7, 8)],
}


def unlinked(title: str, body: str = "") -> Entry:
    return entry(None, None, title=title, body=body)


@pytest.mark.parametrize("shape", list(UNLINKED_FETCHES))
def test_entries_of_one_poll_that_differ_only_in_digits_are_all_kept(
    repo: Repository, shape: str
) -> None:
    """Dates, build and episode numbers are content: none of these entries is lost."""
    feed = add(repo, "https://podcast.example/rss")
    fetched = [unlinked(title, body) for title, body in UNLINKED_FETCHES[shape]]
    counts, _ = save(repo, feed, *fetched)
    assert counts.new == len(fetched)  # type: ignore[attr-defined]
    assert sorted(a["title"] for a in repo.export_articles()) == sorted(e.title for e in fetched)
    counts, _ = save(repo, feed, *reversed(fetched), at=NOW + timedelta(hours=1))
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, len(fetched))  # type: ignore[attr-defined]


def test_a_new_numbered_entry_on_top_is_new_and_the_older_ones_stay_as_they_were(
    repo: Repository,
) -> None:
    feed = add(repo, "https://builds.example/rss")
    save(repo, feed, unlinked("Build 101"), unlinked("Build 100"))
    counts, _ = save(
        repo,
        feed,
        unlinked("Build 102"),
        unlinked("Build 101"),
        unlinked("Build 100"),
        at=NOW + timedelta(hours=1),
    )
    assert (counts.new, counts.updated, counts.unchanged) == (1, 0, 2)  # type: ignore[attr-defined]
    counts, _ = save(repo, feed, unlinked("Build 100"), at=NOW + timedelta(hours=2))
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 1)  # type: ignore[attr-defined]
    assert sorted(a["title"] for a in repo.export_articles()) == [
        "Build 100",
        "Build 101",
        "Build 102",
    ]


def test_a_counter_that_changes_between_polls_is_an_update_of_the_same_entry(
    repo: Repository,
) -> None:
    """Across polls, a changed number in the same place is the entry edited, not a new one."""
    feed = add(repo, "https://counter.example/rss")
    for n, views in enumerate((1000, 1037, 1074)):
        body = f"{WIRE_TEXT} Viewed {views} times. Page generated at 12:{n:02d}."
        counts, _ = save(repo, feed, unlinked("Daily report", body), at=NOW + timedelta(hours=n))
        assert (counts.new, counts.updated) == ((1, 0) if n == 0 else (0, 1))  # type: ignore[attr-defined]
    [article] = list(repo.export_articles())
    assert "Viewed 1074 times" in article["summary"]


# --- which copy is the original --------------------------------------------------

WIRE_URL = "https://wire.example/story"


def dated(guid: str, url: str, published: datetime, title: str = "Title") -> Entry:
    return entry(guid, url, title=title, published=published)


def test_an_earlier_original_arriving_after_its_copy_takes_its_place(repo: Repository) -> None:
    """The syndicated copy (15:05) was stored first; the wire's story (14:32) is the original."""
    wire, courier = add(repo, "https://wire.example/rss"), add(repo, "https://courier.example/atom")
    copy = dated(
        "c1", f"{WIRE_URL}?utm_source=courier", NOW.replace(day=7, hour=15, minute=5), "Copy"
    )
    original = dated("w1", WIRE_URL, NOW.replace(day=7, hour=14, minute=32), "Original")
    save(repo, courier, copy)
    [before] = list(repo.export_articles())
    counts, sightings = save(repo, wire, original, at=NOW + timedelta(minutes=10))
    assert (counts.new, counts.duplicates) == (0, 1)  # type: ignore[attr-defined]
    assert [s.kind for s in sightings] == ["original"]  # type: ignore[attr-defined]
    [article] = list(repo.export_articles())
    assert article["id"] == before["id"]  # matches, alerts and story stay with it
    assert (article["feed_url"], article["title"], article["url"]) == (
        "https://wire.example/rss",
        "Original",
        WIRE_URL,
    )
    assert article["published"] == NOW.replace(day=7, hour=14, minute=32).isoformat()
    assert [(c["feed_url"], c["title"], c["reason"]) for c in article["copies"]] == [
        ("https://courier.example/atom", "Copy", "url")
    ]
    # Later polls of both feeds change nothing: no flip-flop, no second link.
    for _ in range(2):
        counts, _ = save(repo, courier, copy, at=NOW + timedelta(hours=1))
        assert (counts.unchanged, counts.duplicates, counts.updated) == (1, 0, 0)  # type: ignore[attr-defined]
        counts, _ = save(repo, wire, original, at=NOW + timedelta(hours=1))
        assert (counts.unchanged, counts.duplicates, counts.updated) == (1, 0, 0)  # type: ignore[attr-defined]
    [article] = list(repo.export_articles())
    assert (article["title"], len(article["copies"])) == ("Original", 1)


@pytest.mark.parametrize(
    "published",
    [None, NOW + timedelta(hours=2), NOW - timedelta(days=400)],
    ids=["undated", "future", "absurdly-early"],
)
def test_a_copy_without_a_sane_earlier_date_stays_a_copy(
    repo: Repository, published: datetime | None
) -> None:
    wire, courier = add(repo, "https://wire.example/rss"), add(repo, "https://courier.example/atom")
    save(repo, wire, dated("w1", WIRE_URL, NOW - timedelta(hours=1), "Original"))
    counts, _ = save(repo, courier, dated("c1", f"{WIRE_URL}?utm_source=c", published, "Copy"))  # type: ignore[arg-type]
    assert counts.duplicates == 1  # type: ignore[attr-defined]
    [article] = list(repo.export_articles())
    assert (article["title"], [c["title"] for c in article["copies"]]) == ("Original", ["Copy"])


def test_a_restart_keeps_the_title_taken_from_the_feed(repo: Repository) -> None:
    """Each daemon start syncs the configured feeds: one without a title keeps its feed's."""
    spec = FeedSpec(url="https://wire.example/rss")
    repo.sync_config_feeds([spec], NOW)
    [feed] = repo.due_feeds(NOW, 10, AddressPolicy())
    repo.save_poll(feed, PollUpdate(feed.id, "ok", NOW, NOW, 200, title="Global Wire"), [])
    repo.sync_config_feeds([spec], NOW + timedelta(hours=1))
    assert [f.title for f in repo.feeds()] == ["Global Wire"]
    repo.sync_config_feeds([FeedSpec(url=spec.url, title="My wire")], NOW + timedelta(hours=2))
    assert [f.title for f in repo.feeds()] == ["My wire"]  # the configuration's own wins
