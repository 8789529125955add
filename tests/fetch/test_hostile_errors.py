"""A server's own words in an error never carry terminal escapes into storage.

An HTTP reason phrase is text the server chose: ESC, BEL, C1 controls and line
breaks in it would restyle, retitle or hyperlink the terminal of whoever runs
``monitor feeds list``, each time. They are stripped where the fetch error is
built, and again where any feed error is stored.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.core.types import AddressPolicy, FeedSpec, PollUpdate
from monitor.store.repository import Repository
from tests.cli.test_commands import monitor, write_config
from tests.fetch.test_http import fetch
from tests.rawhttp import RawServer

NOW = datetime(2024, 11, 8, 12, 0, tzinfo=UTC)
HOSTILE_REASON = (
    b"Bad \x1b[31mred\x1b[0m \x1b]8;;https://evil.example/\x07click\x1b]8;;\x07"
    b" \x1b]0;new title\x07 \xc2\x9b2J \x1b[2J end"
)
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


@pytest.fixture
def hostile() -> Iterator[RawServer]:
    answer = (
        b"HTTP/1.1 500 " + HOSTILE_REASON + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    server = RawServer(answer).start()
    yield server
    server.stop()


def test_a_reason_phrase_loses_its_escapes_when_the_error_is_built(hostile: RawServer) -> None:
    result = fetch(hostile.url("/feed"))
    assert result.error_kind == "http_500"
    assert result.error is not None and result.error.startswith("HTTP 500 Bad")
    assert not CONTROLS.search(result.error), repr(result.error)
    assert "end" in result.error


def test_run_once_stores_the_error_without_escapes(tmp_path: Path, hostile: RawServer) -> None:
    write_config(tmp_path, hostile.url("/feed"))
    monitor("run", "--once", cwd=tmp_path)
    with sqlite3.connect(tmp_path / "corpus" / "monitor.db") as db:
        [(error,)] = db.execute("SELECT last_error FROM feeds").fetchall()
    assert error.startswith("HTTP 500 Bad") and not CONTROLS.search(error), repr(error)
    listed = monitor("feeds", "list", cwd=tmp_path).stdout
    assert "\x1b]" not in listed and "\x07" not in listed


def test_any_feed_error_is_stored_as_one_printable_line(tmp_path: Path) -> None:
    # Whatever stage made the error (a parser message quoting the document, say).
    repo = Repository.open(f"sqlite:///{tmp_path}/monitor.db")
    try:
        repo.add_feed(FeedSpec(url="https://wire.example/rss"), "cli", NOW)
        [feed] = repo.due_feeds(NOW, 10, AddressPolicy())
        error = "not a feed: \x1b]8;;https://evil.example/\x07<rss>\x1b]8;;\x07\r\nline 2\x9b"
        update = PollUpdate(
            feed_id=feed.id,
            status="parse_error",
            polled_at=NOW,
            next_poll_at=NOW + timedelta(minutes=2),
            error=error,
            error_count=1,
        )
        repo.save_poll(feed, update, [])
        [info] = repo.feeds()
    finally:
        repo.close()
    assert info.last_error == "not a feed: ]8;;https://evil.example/ <rss> ]8;; line 2"
