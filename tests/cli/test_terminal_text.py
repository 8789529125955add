"""Text from feeds reaches the terminal as text: never as markup, never as escape codes.

Feed titles, entry titles, stored URLs (a 301's Location), HTTP reason phrases and
OPML outlines are written by strangers. Shown by a table or a summary, each must
print literally, and an escape sequence in it (ANSI colours, an OSC-8 hyperlink,
a screen clear) must not reach the terminal.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.helpers import ESC, RawServer, config, monitor
from tests.feedserver import FeedServer, feed, redirect, rss

MARKUP = "[bold red]x[/] [link=https://evil.example/]click[/link] [/x]"
BODY = "Officials said the convoy crossed the border overnight with many trucks. " * 4
# A reason phrase with an OSC-8 hyperlink, a BEL, a colour and a screen clear.
HOSTILE_REASON = b"\x1b]8;;https://evil.example/\x07Busy\x1b]8;;\x07 \x1b[31mred\x1b[2J"

WATCHLIST = """name: convoys
actors:
  convoy: [convoy]
rules:
  convoy_seen:
    all: [convoy]
"""


def _route(tmp_path: Path) -> str:
    return (
        f"routes:\n  - name: desk\n    file:\n      dir: {tmp_path}/digests\n    schedule: every 1h"
    )


def _assert_safe(output: str) -> None:
    assert ESC not in output and "\x07" not in output and "\x9b" not in output


def test_hostile_feed_text_is_printed_literally_by_every_table(
    tmp_path: Path, server: FeedServer
) -> None:
    server.routes["/wire"] = feed(
        rss(
            {
                "guid": "w1",
                "link": "https://wire.example/a",
                "title": f"Convoy {MARKUP}",
                "description": BODY,
            },
            title=f"Wire {MARKUP}",
        )
    )
    server.routes["/copy"] = feed(
        rss(
            {
                "guid": "c1",
                "link": "https://wire.example/a?utm_source=x",
                "title": f"Copy {MARKUP}",
                "description": BODY,
            }
        )
    )
    moved = server.url("/new?a=[/x]&b=[link=https://evil.example/]")
    server.routes["/old"] = redirect(moved, 301)
    server.routes["/new"] = feed(
        rss(
            {
                "guid": "m1",
                "link": "https://moved.example/m",
                "title": "Moved story",
                "description": "A different story about grain prices and the harvest. " * 4,
            },
            title="",
        )  # untitled: tables show its URL
    )
    (tmp_path / "watchlists").mkdir()
    (tmp_path / "watchlists" / "convoys.yaml").write_text(WATCHLIST)
    raw = b"HTTP/1.1 503 " + HOSTILE_REASON + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    with RawServer(raw) as hostile:
        path = config(
            tmp_path,
            server.url("/wire"),
            server.url("/copy"),
            server.url("/old"),
            hostile.url("/feed"),
            extra=_route(tmp_path),
        )
        stats = tmp_path / "stats.json"
        cycle = monitor(
            "--config", str(path), "run", "--once", "--stats-json", str(stats), cwd=tmp_path
        )
    _assert_safe(cycle.stdout + cycle.stderr)
    assert f"Copy {MARKUP}" in cycle.stdout  # the poll summary's line on the copy
    assert json.loads(stats.read_text())["new_articles"] >= 2

    listing = monitor("--config", str(path), "feeds", "list", cwd=tmp_path)
    _assert_safe(listing.stdout + listing.stderr)
    assert f"Wire {MARKUP}" in listing.stdout
    assert "Busy" in listing.stdout and "red" in listing.stdout  # the error, without its codes
    assert "a=[/x]" in listing.stdout

    with sqlite3.connect(tmp_path / "monitor.db") as db:
        (moved_id,) = db.execute("SELECT id FROM articles WHERE title = 'Moved story'").fetchone()
    explained = monitor("--config", str(path), "explain", moved_id, cwd=tmp_path)
    _assert_safe(explained.stdout + explained.stderr)
    assert "a=[/x]&b=[link=https://evil.example/]" in explained.stdout

    for command in (["deliveries", "list"], ["stories", "list", "--all", "--since", "3000w"]):
        shown = monitor("--config", str(path), *command, cwd=tmp_path)
        _assert_safe(shown.stdout + shown.stderr)
        assert MARKUP[:30] in shown.stdout, command  # (a subject is cut at 70 characters)


def test_an_opml_outline_is_printed_literally(tmp_path: Path) -> None:
    path = config(tmp_path)
    opml = tmp_path / "in.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body>'
        f'<outline text="{MARKUP}" xmlUrl="https://a.example/rss?q=[/x]"/>'
        f'<outline text="Local" xmlUrl="file:///etc/[/x][link=https://evil.example/]z"/>'
        "</body></opml>"
    )
    imported = monitor("--config", str(path), "feeds", "import", str(opml), cwd=tmp_path)
    _assert_safe(imported.stdout + imported.stderr)
    assert "skipped file:///etc/[/x][link=https://evil.example/]z" in imported.stdout
    listing = monitor("--config", str(path), "feeds", "list", cwd=tmp_path)
    assert MARKUP in listing.stdout
