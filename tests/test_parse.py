"""Parsing: golden files for each format and hostile input, caps, a parse deadline."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import ParseError
from monitor.parse.entries import Limits
from monitor.parse.feeds import parse_feed
from monitor.parse.pool import ParsePool
from tests.feedserver import rss

DATA = Path(__file__).parent / "data"
NOW = datetime(2024, 11, 9, tzinfo=UTC)
FIXTURES = sorted(p for p in DATA.iterdir() if not p.name.endswith(".golden.json"))


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(dataclasses.asdict(value), default=str, ensure_ascii=False))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_feed_parses_to_its_golden_file(path: Path) -> None:
    """Set UPDATE_GOLDEN=1 to rewrite the golden files, then review the diff."""
    parsed = as_json(
        parse_feed(path.read_bytes(), None, "https://feeds.example/feed", NOW, Limits())
    )
    golden = path.with_name(path.name + ".golden.json")
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(json.dumps(parsed, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert parsed == json.loads(golden.read_text(encoding="utf-8"))


def test_not_a_feed_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(
            b"<html><body>Hello</body></html>", "text/html", "https://x.example/", NOW, Limits()
        )
    with pytest.raises(ParseError, match="JSON"):
        parse_feed(b'{"hello": 1}', "application/json", "https://x.example/", NOW, Limits())


def test_entries_per_fetch_and_field_sizes_are_capped() -> None:
    items = [{"guid": str(i), "title": "t" * 5000, "description": "d" * 50_000} for i in range(50)]
    limits = Limits(max_entries=10, title=100, summary=1000)
    parsed = parse_feed(rss(*items), None, "https://x.example/", NOW, limits)
    assert (len(parsed.entries), parsed.dropped_entries) == (10, 40)
    assert all(len(e.title) == 100 and len(e.summary) == 1000 for e in parsed.entries)


def test_the_entity_expansion_fixture_stays_small_and_reads_no_local_file() -> None:
    started = time.process_time()
    parsed = parse_feed(
        (DATA / "hostile-entities.xml").read_bytes(), None, "https://x.example/", NOW, Limits()
    )
    assert time.process_time() - started < 2
    assert all(len(e.title) < 1000 and "root:" not in e.summary for e in parsed.entries)


def redos_feed(items: int = 3, n: int = 16_000) -> bytes:
    """feedparser issue #562: an author that makes its e-mail regex backtrack (≈4 s each)."""
    author = "a@" + "a." * n + "!"
    return rss(*({"guid": str(i), "title": "x", "author": author} for i in range(items)))


def test_a_parse_that_runs_too_long_is_stopped_and_the_pool_recovers() -> None:
    async def go() -> tuple[float, int]:
        pool = ParsePool(workers=1, timeout_s=1.5, limits=Limits())
        try:
            started = time.monotonic()
            with pytest.raises(ParseError, match="still parsing"):
                await pool.parse(redos_feed(), None, "https://evil.example/", NOW)
            elapsed = time.monotonic() - started
            after = await pool.parse(
                rss({"guid": "1", "title": "fine"}), None, "https://ok.example/", NOW
            )
            return elapsed, len(after.entries)
        finally:
            pool.close()

    elapsed, entries = asyncio.run(go())
    assert elapsed < 1.5 + 1.5
    assert entries == 1
