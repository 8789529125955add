"""Four `monitor run` processes on one PostgreSQL: every feed fetched once, every digest sent once,
one story for one event however the copies were shared out between workers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from monitor.store.repository import Repository
from tests.feedserver import FeedServer, feed
from tests.near.test_sample_corpus import REPRINT, SPUN, WIRE
from tests.processes import start_monitor
from tests.receivers import SmtpReceiver

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = {
    "globalwire.rss": "application/rss+xml",
    "daily-courier.atom": "application/atom+xml",
    "eurasia-monitor.json": "application/feed+json",
    "newsfarm.rss": "application/rss+xml",
    "policy-review.rss": "application/rss+xml",
}
WORKERS = 4
OTHER_FEEDS = 40


def other_feed(i: int) -> bytes:
    items = "".join(
        f"<item><guid>g{i}-{j}</guid><title>Parish notice {i}.{j}</title>"
        f"<description>The parish council {i} met on day {j} to discuss hedge number {i * j}."
        f"</description></item>"
        for j in range(3)
    )
    return f"<rss version='2.0'><channel><title>Parish {i}</title>{items}</channel></rss>".encode()


@pytest.fixture
def feeds() -> Any:
    server = FeedServer().start()
    for name, kind in SAMPLES.items():
        server.routes[f"/sample/{name}"] = feed(
            (ROOT / "corpus" / "feeds" / name).read_bytes(), content_type=kind
        )
    for i in range(OTHER_FEEDS):
        server.routes[f"/parish/{i}.xml"] = feed(other_feed(i))
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Any:
    with SmtpReceiver("none") as receiver:
        yield receiver


@pytest.mark.postgres
def test_four_workers_share_one_database_exactly_once(
    tmp_path: Path, postgres_url: str, feeds: FeedServer, smtp: SmtpReceiver
) -> None:
    shutil.copytree(ROOT / "watchlists", tmp_path / "watchlists")
    urls = [feeds.url(path) for path in feeds.routes]
    (tmp_path / "monitor.yaml").write_text(
        json.dumps(
            {
                "database": {"url": postgres_url},
                "network": {"allow_private": True},
                "polling": {"interval": "1h", "check_every": "0.3s", "parse_workers": 0},
                "alerts": {"check_every": "0.3s"},
                "feeds": [{"url": url} for url in urls],
                "routes": [
                    {
                        "name": "mail",
                        "schedule": "every 1h",
                        "email": {
                            "host": "127.0.0.1",
                            "port": smtp.port,
                            "security": "none",
                            "from": "m@example.org",
                            "to": ["d@example.org"],
                        },
                    }
                ],
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "monitor", "run"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"worker-{i}.log").open("w"),
        )
        for i in range(WORKERS)
    ]
    repo = Repository.open(postgres_url)
    try:
        _wait(lambda: all(feeds.hits[path] for path in feeds.routes), "every feed polled")
        _wait(lambda: _all_compared(repo), "every article compared and matched")
        smtp.wait_for(1, timeout=30)
        time.sleep(3)  # several more checks by every worker: nothing may happen twice
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(30) for worker in workers]
    try:
        articles = {a["title"]: a for a in repo.export_articles()}
        deliveries = repo.deliveries()
    finally:
        repo.close()
    assert codes == [0] * WORKERS, _logs_of(tmp_path, codes)
    assert {path: feeds.hits[path] for path in feeds.routes} == dict.fromkeys(feeds.routes, 1)
    assert len(smtp.messages) == 1 and len(deliveries) == 1
    assert len(articles) == 18 + 3 * OTHER_FEEDS
    wire = articles[WIRE]
    assert articles[REPRINT]["duplicate_of"] == wire["id"]
    assert articles[SPUN]["duplicate_of"] == wire["id"]
    event = [a for a in articles.values() if a["story_id"] == wire["story_id"]]
    assert len(event) == 5  # one story for the event, whichever worker read which copy


def _all_compared(repo: Repository) -> bool:
    exported = list(repo.export_articles())
    return len(exported) == 18 + 3 * OTHER_FEEDS and all(
        a["story_id"] is not None for a in exported
    )


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"not within {timeout}s: {what}")


def _logs_of(tmp_path: Path, codes: list[int]) -> str:
    """The end of the log of each worker that failed: why it did."""
    failed = [i for i, code in enumerate(codes) if code != 0]
    return "\n".join(
        f"worker {i}: {(tmp_path / f'worker-{i}.log').read_text()[-3000:]}" for i in failed
    )


# --- the parse workers live and die with their daemon ------------------------------


@pytest.fixture
def daemon_dir(tmp_path: Path) -> Path:
    """A daemon on one local feed, parsing in two worker processes."""
    (tmp_path / "feed.rss").write_bytes(other_feed(1))
    (tmp_path / "monitor.yaml").write_text(
        f"database: {{url: 'sqlite:///{tmp_path / 'm.db'}'}}\n"
        "polling: {interval: 1h, check_every: 1s, parse_workers: 2}\n"
        "feeds:\n  - url: feed.rss\n"
    )
    return tmp_path


def _start_daemon(where: Path) -> tuple[subprocess.Popen[str], list[psutil.Process]]:
    """A `monitor run` in a process group of its own (as a shell starts it), once its
    parse workers are up; with them and multiprocessing's resource tracker."""
    daemon = start_monitor(where, "run", stderr=subprocess.PIPE, text=True, new_session=True)
    _wait(lambda: _stored(where / "m.db") == 3, "the feed parsed and stored", timeout=60)
    return daemon, psutil.Process(daemon.pid).children(recursive=True)


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.Error:
        return 0


def _running(process: psutil.Process) -> bool:
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _stop_all(daemon: subprocess.Popen[str], children: list[psutil.Process]) -> None:
    """Whatever a failed test left: nothing of it survives the test."""
    for process in [psutil.Process(daemon.pid), *children] if daemon.poll() is None else children:
        if _running(process):
            process.kill()
    daemon.wait(10)


def test_the_parse_workers_die_with_a_daemon_killed_by_sigkill(daemon_dir: Path) -> None:
    """kill -9 or the OOM killer: the workers and the resource tracker do not stay behind."""
    daemon, children = _start_daemon(daemon_dir)
    try:
        assert len(children) >= 2  # two workers (and the resource tracker)
        daemon.kill()
        daemon.wait(10)
        _wait(lambda: not any(_running(c) for c in children), "the workers gone", timeout=10)
    finally:
        _stop_all(daemon, children)


def test_ctrl_c_stops_the_daemon_cleanly_without_tracebacks_from_the_workers(
    daemon_dir: Path,
) -> None:
    """A terminal's Ctrl-C sends SIGINT to the whole process group, workers included."""
    daemon, children = _start_daemon(daemon_dir)
    try:
        os.killpg(daemon.pid, signal.SIGINT)
        _, err = daemon.communicate(timeout=30)
        _wait(lambda: not any(_running(c) for c in children), "the workers gone", timeout=10)
    finally:
        _stop_all(daemon, children)
    assert daemon.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "daemon.stopped" in err


def test_an_idle_daemon_says_nothing_at_info_level(daemon_dir: Path) -> None:
    """Only cycles that did something are told; idle checks are debug events."""
    shutil.copytree(ROOT / "watchlists", daemon_dir / "watchlists")
    # Files written a moment ago are not read until they settle: each would load on a
    # later look, and be told then. A user's files were written long before.
    for path in (daemon_dir / "watchlists").iterdir():
        os.utime(path, (time.time() - 60, time.time() - 60))
    config = daemon_dir / "monitor.yaml"
    config.write_text(
        config.read_text().replace("check_every: 1s", "check_every: 0.2s")
        + "log: {format: json, level: debug}\n"
    )
    log = daemon_dir / "daemon.log"
    with log.open("w") as err:
        daemon = start_monitor(daemon_dir, "run", stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        _wait(lambda: _processed(daemon_dir / "m.db") == 3, "the articles compared and matched")
        # Said once, at the daemon's first look at the files after start: not idle talk.
        # The load at start is told at debug; the first watch after it, at info.
        _wait(lambda: "watchlists.loaded" in _events(log, "info"), "the watchlists in force told")
        idle = _events(log).count("cycle.done")
        done = len(_events(log))
        _wait(lambda: _events(log).count("cycle.done") >= idle + 5, "five idle checks")
        daemon.send_signal(signal.SIGTERM)
        out, _ = daemon.communicate(timeout=30)
    finally:
        daemon.kill()
    assert daemon.returncode == 0, log.read_text()
    assert out.count("Poll cycle") == 1 and out.count("Watchlists:") == 1, out  # the first one
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    told = {r["event"] for r in records[done:] if r["level"] != "debug"}
    assert told <= {"daemon.stopping", "daemon.stopped"}, told


def _processed(db: Path) -> int:
    query = "SELECT count(*) FROM articles WHERE matched_at IS NOT NULL AND near_at IS NOT NULL"
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute(query).fetchone()[0])
    except sqlite3.Error:
        return 0


def _events(log: Path, level: str | None = None) -> list[str]:
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{") and line[-1] == "}"]
    return [r["event"] for r in records if level in (None, r["level"])]
