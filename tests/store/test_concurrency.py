"""Several processes writing one database at once: no lock errors, no double articles."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.core.types import AddressPolicy, Entry, FeedSpec, PollUpdate
from monitor.dedup.decide import EXACT_COPIES
from monitor.dedup.keys import with_hashes
from monitor.store.repository import Repository

NOW = datetime(2024, 11, 8, tzinfo=UTC)
WORKERS = 4
POLLS = 40


def shared_entries(round_: int) -> list[Entry]:
    """Every worker sees the same stories (same URLs and text), as syndicated copies."""
    return [
        with_hashes(
            Entry(
                guid=f"{round_}-{i}",
                url=f"https://wire.example/{round_}/{i}",
                canonical_url=f"https://wire.example/{round_}/{i}",
                title=f"Story {round_}-{i}",
                summary=f"Body of story {round_} {i}. " * 10,
                content="",
                authors=(),
                language="en",
                published=NOW,
            )
        )
        for i in range(5)
    ]


def worker(db_url: str, index: int, errors: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    try:
        repo = Repository.open(db_url, exact=EXACT_COPIES)
        repo.add_feed(FeedSpec(url=f"https://site{index}.example/rss"), "cli", NOW)
        feed = next(
            f
            for f in repo.due_feeds(NOW, 100, AddressPolicy(), every=True)
            if f.url.endswith(f"site{index}.example/rss")
        )
        for round_ in range(POLLS):
            at = NOW + timedelta(minutes=round_)
            update = PollUpdate(feed_id=feed.id, status="ok", polled_at=at, next_poll_at=at)
            repo.save_poll(feed, update, shared_entries(round_))
        repo.close()
    except BaseException as exc:  # report everything to the parent
        errors.put(f"worker {index}: {type(exc).__name__}: {exc}")


def run_workers(db_url: str) -> list[str]:
    Repository.open(db_url).close()  # migrate once, as `monitor run` does on start
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    processes = [context.Process(target=worker, args=(db_url, i, errors)) for i in range(WORKERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert all(p.exitcode == 0 for p in processes)
    return found


def test_concurrent_writers_on_sqlite_never_hit_a_lock_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    assert run_workers(url) == []
    repo = Repository.open(url)
    try:
        articles = list(repo.export_articles())
    finally:
        repo.close()
    assert len(articles) == POLLS * 5
    assert all(len(a["copies"]) == WORKERS - 1 for a in articles)


@pytest.mark.postgres
def test_concurrent_writers_on_postgres_store_each_story_once(postgres_url: str) -> None:
    assert run_workers(postgres_url) == []
    repo = Repository.open(postgres_url)
    try:
        articles = list(repo.export_articles())
    finally:
        repo.close()
    assert len(articles) == POLLS * 5
    assert all(len(a["copies"]) == WORKERS - 1 for a in articles)
