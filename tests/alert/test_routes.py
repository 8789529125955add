"""Routes as users set them: instant alerts, urgent escalation, quiet hours, previews, workers."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from monitor.alert.stage import NEAR_GRACE
from monitor.app import App
from tests.alert.world import (
    SAMPLE_STORIES,
    alerts_only,
    cycle,
    ingest,
    open_app,
    sample_config,
    write_feed,
)
from tests.cli.test_commands import monitor
from tests.conftest import FakeClock
from tests.processes import start_monitor, stop


def route(tmp: Path, settings: str) -> str:
    return f"  - {{name: desk, file: {{dir: '{tmp / 'out'}'}}, {settings}}}"


def test_an_instant_route_sends_each_story_on_its_own_at_once(
    tmp_path: Path, db_url: str, clock: FakeClock
) -> None:
    cfg = sample_config(tmp_path, db_url, route(tmp_path, "schedule: instant"))
    with open_app(cfg, clock) as app:
        report = cycle(app)
        assert (report.alerts, report.digests, report.sent) == (SAMPLE_STORIES, 0, SAMPLE_STORIES)
        clock.advance(days=1)
        assert cycle(app).alerts == 0  # nothing new, nothing again


def test_an_urgent_score_escalates_one_story_and_the_rest_wait_for_the_digest(
    tmp_path: Path, clock: FakeClock
) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    settings = "schedule: '0 18 * * *', urgent_score: 30"
    with open_app(sample_config(tmp_path, db, route(tmp_path, settings)), clock) as app:
        report = cycle(app)  # 12:00: the troop story (35) goes at once
        assert (report.alerts, report.digests) == (1, 0)
        clock.advance(hours=6)
        report = alerts_only(app)  # 18:00: the digest of the other three
        assert (report.alerts, report.digests) == (0, 1)
        (digest, alert) = app.repo.deliveries()
    assert digest.subject.startswith("[monitor digest] 3 stories")
    assert "North Korean troops" in alert.subject


def test_quiet_hours_hold_alerts_until_they_end(tmp_path: Path, clock: FakeClock) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    settings = "schedule: instant, quiet_hours: '11:30-13:00'"  # the clock says 12:00 UTC
    with open_app(sample_config(tmp_path, db, route(tmp_path, settings)), clock) as app:
        assert cycle(app).alerts == 0
        clock.advance(minutes=59)
        assert alerts_only(app).alerts == 0
        clock.advance(minutes=2)
        assert alerts_only(app).alerts == SAMPLE_STORIES  # held, never dropped


def test_digest_preview_shows_the_next_digest_and_marks_nothing(tmp_path: Path) -> None:
    sample_config(
        tmp_path, f"sqlite:///{tmp_path / 'm.db'}", route(tmp_path, "schedule: '0 8 * * *'")
    )
    monitor("run", "--once", cwd=tmp_path)  # a cron route: nothing is due yet
    shown = monitor("digest", "preview", "desk", cwd=tmp_path).stdout
    assert "4 stories" in shown and "Also reported by 4" in shown
    again = monitor("digest", "preview", "desk", "--format", "json", cwd=tmp_path).stdout
    assert '"count":4' in again
    assert "no deliveries" in monitor("deliveries", "list", cwd=tmp_path).stdout
    unknown = monitor("digest", "preview", "nope", cwd=tmp_path, check=False)
    assert unknown.returncode == 1 and "no route named 'nope' (routes: desk)" in unknown.stderr


def test_two_workers_building_at_the_same_moment_make_one_digest(
    tmp_path: Path, db_url: str, clock: FakeClock
) -> None:
    cfg = sample_config(tmp_path, db_url, route(tmp_path, "schedule: every 1h"))
    with open_app(cfg, clock) as reader:
        ingest(reader)  # the corpus is read and matched; no digest yet
    workers = [App(cfg, clock=clock) for _ in range(4)]
    barrier = threading.Barrier(len(workers))
    reports = []

    def build(app: App) -> None:
        barrier.wait()
        reports.append(app.alerts.build())

    try:
        threads = [threading.Thread(target=build, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        built = workers[0].repo.deliveries()
    finally:
        for worker in workers:
            worker.close()
    assert sum(r.digests for r in reports) == 1
    assert [r.errors for r in reports] == [[]] * len(workers)
    assert len(built) == 1


def test_check_names_the_route_mistakes_that_would_make_it_silent(tmp_path: Path) -> None:
    routes = (
        "  - {name: desk, file: {dir: out}, watchlists: [north-korea-russia, nope], "
        "rules: [north-korea-russia/troops_for_russia, energy-markets/nope]}\n"
        "  - {name: hook, webhook: {url: 'https://hooks.example/x', secret_env: NO_SUCH_VAR}}"
    )
    sample_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", routes)
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "digest.txt.j2").write_text("{% for %}")
    result = monitor("check", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "route desk: watchlists: no watchlist named 'nope'" in result.stderr
    assert "route desk: rules: no rule 'energy-markets/nope'" in result.stderr
    assert "troops_for_russia" not in result.stderr
    assert "route hook: webhook.secret_env: environment variable NO_SUCH_VAR" in result.stderr
    assert "template digest.txt.j2:1" in result.stderr


def test_the_quick_start_daemon_writes_the_sample_digest_within_seconds(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    shutil.copy(root / "monitor.yaml", tmp_path)
    shutil.copytree(root / "corpus" / "feeds", tmp_path / "corpus" / "feeds")
    shutil.copytree(root / "watchlists", tmp_path / "watchlists")
    daemon = start_monitor(tmp_path, "run")
    latest = tmp_path / "corpus" / "digests" / "latest.html"
    try:
        deadline = time.monotonic() + 60
        while not latest.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        assert stop(daemon).returncode == 0
    html = latest.read_text()
    assert "4 stories" in html and "Also reported by 4" in html


OPEC_STORY = (
    "opec-1",
    "OPEC+ extends production cuts as Saudi Aramco trims output",
    "OPEC+ agreed on Sunday to extend its production cuts into next year, and Saudi "
    "Aramco said it would trim output further. Brent crude rose two per cent on the news.",
)


def test_a_due_digest_waits_for_the_polls_another_worker_began_before_it(
    tmp_path: Path, db_url: str
) -> None:
    """Worker B is polling when worker A's digest falls due: the digest waits for B's
    stories instead of leaving them to the next one, and never longer than NEAR_GRACE."""
    start = datetime.now(UTC).replace(minute=10, second=0, microsecond=0)
    clock = FakeClock(start)  # leases are on the database's (real) clock: so is this one
    cfg = sample_config(tmp_path, db_url, route(tmp_path, "schedule: '0 * * * *'"))
    with open_app(cfg, clock) as a, open_app(cfg, clock) as b:
        cycle(a)  # the corpus, matched: the digest at the next full hour holds it
        write_feed(tmp_path / "feeds" / "extra.rss", [(*OPEC_STORY, start)])
        in_flight = b.repo.claim_feeds(clock.now(), 100, b.poller.policy, every=True)
        clock.advance(minutes=51)  # the hour is over; B's polls began before it ended
        assert alerts_only(a).digests == 0  # waits for them

        async def finish() -> None:
            for feed in in_flight:
                await b.poller.poll(feed)
            await b.flow.near()
            await b.flow.match()
            await b.fetcher.aclose()

        asyncio.run(finish())
        assert alerts_only(a).digests == 1
        (digest,) = a.repo.deliveries()
    assert digest.subject.startswith(f"[monitor digest] {SAMPLE_STORIES + 1} stories")


def test_a_due_digest_waits_no_longer_than_the_grace_for_a_stuck_poll(
    tmp_path: Path, db_url: str
) -> None:
    start = datetime.now(UTC).replace(minute=10, second=0, microsecond=0)
    clock = FakeClock(start)
    cfg = sample_config(tmp_path, db_url, route(tmp_path, "schedule: '0 * * * *'"))
    with open_app(cfg, clock) as a, open_app(cfg, clock) as b:
        cycle(a)
        b.repo.claim_feeds(clock.now(), 100, b.poller.policy, every=True, lease=lambda n: 3600)
        clock.advance(minutes=51)
        assert alerts_only(a).digests == 0
        clock.advance(minutes=NEAR_GRACE.total_seconds() / 60)  # the poll never ends
        assert alerts_only(a).digests == 1
        (digest,) = a.repo.deliveries()
    assert digest.subject.startswith(f"[monitor digest] {SAMPLE_STORIES} stories")
