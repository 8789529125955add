"""``monitor explain`` says in words why an article is a copy of another."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.cli.helpers import config, monitor
from tests.feedserver import FeedServer, feed, rss

REPORT = (
    "NATO Secretary General Mark Rutte confirmed on Monday that North Korean troops had been "
    "deployed to the Kursk region of Russia, calling it a significant escalation. Speaking in "
    "Brussels, Rutte said the alliance had seen evidence that military units from Pyongyang "
    "were now operating alongside Russian forces. South Korea's intelligence service estimated "
    "that around 11,000 soldiers had been sent. The Pentagon said about 10,000 troops were "
    "training in eastern Russia and would likely move toward Ukraine within weeks. Ukrainian "
    "President Volodymyr Zelensky called for a strong response from Western partners and asked "
    "for permission to strike military targets deep inside Russian territory."
)


def test_explain_says_what_each_copy_score_measures(tmp_path: Path, server: FeedServer) -> None:
    server.routes["/wire"] = feed(
        rss(
            {
                "guid": "w1",
                "link": "https://wire.example/a",
                "title": "Troops in Kursk",
                "description": REPORT,
                "pubDate": "Mon, 28 Oct 2024 14:32:00 GMT",
            }
        )
    )
    server.routes["/reprint"] = feed(
        rss(
            {
                "guid": "r1",
                "link": "https://reprint.example/b",
                "title": "Troops in Kursk, NATO says",
                "description": REPORT + " Reporting by the wire desk.",
                "pubDate": "Mon, 28 Oct 2024 15:05:00 GMT",
            }
        )
    )
    path = config(tmp_path, server.url("/wire"), server.url("/reprint"))
    monitor("--config", str(path), "run", "--once", cwd=tmp_path)
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        (copy_id,) = db.execute(
            "SELECT id FROM articles WHERE duplicate_of IS NOT NULL AND duplicate_of != id"
        ).fetchone()
    shown = monitor("--config", str(path), "explain", copy_id, cwd=tmp_path).stdout
    assert "exact True" not in shown and "exact False" not in shown
    assert "scores, measured on both texts:" in shown
    assert "containment 1.0: share of the shorter text found in the longer" in shown


def test_a_story_of_one_article_says_so_in_english(tmp_path: Path, server: FeedServer) -> None:
    server.routes["/wire"] = feed(
        rss({"guid": "w1", "title": "Troops in Kursk", "description": REPORT})
    )
    path = config(tmp_path, server.url("/wire"))
    monitor("--config", str(path), "run", "--once", cwd=tmp_path)
    shown = monitor("--config", str(path), "stories", "list", "--all", cwd=tmp_path).stdout
    assert "· 1 article ·" in shown
    assert "1 articles" not in shown
