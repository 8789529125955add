"""The command line, run as a user runs it: a real process, real files, a real server."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from aiohttp import web

from tests.feedserver import FeedServer, feed, rss
from tests.processes import start_monitor, stop, user_environment

STORY = (
    "A long enough story body about a convoy that crossed the border overnight, officials said. "
    * 2
)


def monitor(
    *args: str, cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=user_environment(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def write_config(tmp_path: Path, *feeds: str, extra: str = "") -> None:
    lines = [
        "database:\n  url: sqlite:///corpus/monitor.db",
        "polling:\n  parse_workers: 1\n  check_every: 1s" + extra,
        "network:\n  allow_private: [127.0.0.2/32]",
        "feeds:",
        *[f"  - url: {f}" for f in feeds],
    ]
    (tmp_path / "corpus").mkdir(exist_ok=True)
    (tmp_path / "monitor.yaml").write_text("\n".join(lines) + "\n")


def test_run_once_ingests_prints_a_summary_and_exports_jsonl(
    tmp_path: Path, server: FeedServer
) -> None:
    server.routes["/wire"] = feed(
        rss(
            {
                "guid": "w1",
                "link": "https://wire.example/a",
                "title": "Convoy crosses",
                "description": STORY,
            }
        )
    )
    (tmp_path / "copy.rss").write_bytes(
        rss(
            {
                "guid": "c1",
                "link": "https://wire.example/a?utm_source=x",
                "title": "Convoy (copy)",
                "description": STORY,
            }
        )
    )
    write_config(tmp_path, server.url("/wire"), "copy.rss")
    stats = tmp_path / "stats.json"
    result = monitor("run", "--once", "--stats-json", str(stats), cwd=tmp_path)
    assert "Poll cycle" in result.stdout and "copy" in result.stdout
    assert json.loads(stats.read_text())["new_articles"] == 1
    assert (tmp_path / "corpus" / "monitor.db").exists()
    exported = monitor("articles", "export", "--format", "jsonl", cwd=tmp_path).stdout.splitlines()
    [record] = [json.loads(line) for line in exported]
    for field in ("id", "feed_url", "url", "guid", "title", "published", "duplicate_of"):
        assert field in record
    assert record["copies"][0]["reason"] == "url"
    assert monitor("articles", "export", "--since", "2099-01-01", cwd=tmp_path).stdout == ""


def test_feeds_list_import_export_and_remove(tmp_path: Path) -> None:
    write_config(tmp_path)
    opml = tmp_path / "in.opml"
    opml.write_text("""<?xml version="1.0"?><opml version="2.0"><head/><body><outline text="World">
      <outline text="A" xmlUrl="https://a.example/rss"/><outline text="B" xmlUrl="https://b.example/atom"/>
      <outline text="Local" xmlUrl="file:///etc/passwd"/></outline></body></opml>""")
    result = monitor("feeds", "import", str(opml), cwd=tmp_path)
    assert "2 new" in result.stdout and "skipped file:///etc/passwd" in result.stdout
    assert "https://a.example/rss" in monitor("feeds", "export", cwd=tmp_path).stdout
    listing = monitor("feeds", "list", cwd=tmp_path, env={"COLUMNS": "200"}).stdout
    assert "A" in listing and "B" in listing and "new" in listing
    monitor("feeds", "remove", "https://a.example/rss", cwd=tmp_path)
    assert "https://a.example/rss" not in monitor("feeds", "export", cwd=tmp_path).stdout
    refused = monitor("feeds", "add", "ftp://x.example/feed", cwd=tmp_path, check=False)
    assert refused.returncode == 2 and "only http and https" in refused.stderr


def test_a_feed_declared_in_the_file_cannot_be_removed_from_the_command_line(
    tmp_path: Path,
) -> None:
    write_config(tmp_path, "https://declared.example/rss")
    monitor("run", "--once", cwd=tmp_path, check=False)
    result = monitor("feeds", "remove", "https://declared.example/rss", cwd=tmp_path, check=False)
    assert result.returncode == 2 and "monitor.yaml" in result.stderr


def test_a_database_from_a_newer_monitor_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    write_config(tmp_path)
    monitor("feeds", "list", cwd=tmp_path)
    with sqlite3.connect(tmp_path / "corpus" / "monitor.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    result = monitor("run", "--once", cwd=tmp_path, check=False)
    assert result.returncode == 1 and "newer monitor" in result.stderr


def test_environment_overrides_the_database_url(tmp_path: Path) -> None:
    write_config(tmp_path)
    monitor(
        "feeds",
        "add",
        "https://a.example/rss",
        cwd=tmp_path,
        env={"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/other.db"},
    )
    assert (tmp_path / "other.db").exists()
    assert not (tmp_path / "corpus" / "monitor.db").exists()


def wait_for_first_poll(server: FeedServer, step: float) -> None:
    """Until the daemon asks for /feed (30 s at most: the test's assertions then say why)."""
    deadline = time.monotonic() + 30
    while server.hits["/feed"] == 0 and time.monotonic() < deadline:
        time.sleep(step)


def test_the_daemon_polls_and_stops_cleanly_on_sigterm(tmp_path: Path, server: FeedServer) -> None:
    server.routes["/feed"] = feed(rss({"guid": "g1", "title": "Story", "description": STORY}))
    write_config(tmp_path, server.url("/feed"))
    daemon = start_monitor(tmp_path, "run", stderr=subprocess.PIPE, text=True)
    try:
        wait_for_first_poll(server, step=0.1)
        assert server.hits["/feed"] == 1
        time.sleep(0.5)
    finally:
        stopped = stop(daemon, timeout=20)
    assert stopped.returncode == 0, stopped.stderr
    assert "daemon.stopped" in stopped.stderr
    with sqlite3.connect(tmp_path / "corpus" / "monitor.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM articles").fetchone() == (1,)


def test_sigterm_during_a_slow_fetch_finishes_the_cycle_under_way(
    tmp_path: Path, server: FeedServer
) -> None:
    """The first signal lets the cycle end and save what it fetched; it is not abandoned."""
    served = feed(rss({"guid": "g1", "title": "Story", "description": STORY}))

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(3)  # the signal arrives while the feed is still on its way
        return await served(request)

    server.routes["/feed"] = slow
    write_config(tmp_path, server.url("/feed"))
    daemon = start_monitor(tmp_path, "run", stderr=subprocess.PIPE, text=True)
    try:
        wait_for_first_poll(server, step=0.05)
    finally:
        stopped = stop(daemon)
    assert stopped.returncode == 0, stopped.stderr
    assert "cycle.abandoned" not in stopped.stderr
    with sqlite3.connect(tmp_path / "corpus" / "monitor.db") as db:
        assert db.execute("SELECT count(*) FROM articles").fetchone() == (1,)
