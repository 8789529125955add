"""Several workers on one PostgreSQL, end to end, and the embedded SQLite case.

.venv/bin/python -m bench.workers [--quick] [--feeds 2000] [--entries 10] [--stored 100000]
                                  [--rules 10000] [--workers 1,2,4] [--skip-sqlite]
                                  [--skip-recovery] [--recovery-timeout 5] [--out DIR]

The load: F feeds on a loopback server (bench/workers_data.py), each with E new
entries of real BBC text (F × E new articles), a database already holding S
stored articles (compared and matched long ago, with sketches and index keys),
and R rules in YAML watchlists. Each configuration runs the real daemon
(``python -m monitor --config CFG run``, W subprocesses started at once) on a
fresh copy of one pre-filled database (PostgreSQL: ``CREATE DATABASE … TEMPLATE``),
until every feed is saved and every new article is compared and matched.

- **articles/s**: new articles over the time from the first feed request (the
  server's clock) to the last ``matched_at`` or ``near_at`` written (the workers'
  clock; one machine). Phases: the last feed request, the last article stored
  (``first_seen_at``), compared (``near_at``) and matched (``matched_at``).
- **duplicate fetches**: feeds the server was asked for more than once (the
  interval is 1 h: every feed is due once).
- **duplicate deliveries**: ``webhook-id``s the receiver got more than once, from
  an ``instant`` webhook route on 3 of the watchlists (thousands of alerts at full
  size), once the outbox is empty.
- **peak RSS per worker**: each worker process (and any children) every 0.2 s.
- **recovery**: W = 2 with ``polling.timeout`` and ``parse_timeout`` small; once a
  quarter of the feeds are saved, the worker that has fetched the most is
  SIGKILLed. Its orphans (feeds it had leased and not saved) wait for their lease;
  takeover is the kill → the first orphan's next request, set against the lease
  they had left (``Poller.lease``: (⌈n / 64⌉ + 1) × (timeout + parse_timeout + 10 s)
  for n feeds claimed at once).

Results: bench/results/workers.{json,md} (``--quick``: workers-quick.*).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console

from bench.databases import clone_pg, create_pg, drop_pg, engine_for, vacuum_analyze
from bench.results import (
    RESULTS,
    begin,
    code_and_command,
    command_argv,
    exit_status,
    git,
    git_state,
    target,
    write_pair,
)
from bench.tables import (
    TARGET_COLUMNS,
    Table,
    dash,
    markdown_document,
    print_tables,
    target_rows,
)
from bench.ui import Progress
from bench.workers_data import Loopback, common_keys, fill_stored, write_watchlists

# bench_workers_<pid>_<run>: two benches at once (two people) never drop each other's.
DB_PREFIX = f"bench_workers_{os.getpid()}_"
MEMORY_TARGET_MB = 250
RECOVERY_SLACK_S = 10  # "lease length plus a few seconds"
IN_FLIGHT = 64  # Poller.in_flight: feeds between fetch and save at once (a lease "wave")
CONCURRENCY = 50  # polling.concurrency, and per_host: the one loopback host stands for F sites
ALERT_WATCHLISTS = 3  # watchlists the instant webhook route follows
SAMPLE_EVERY = 0.2  # s between memory samples
POLL_EVERY = 0.5  # s between looks at the database (is it done?)
STATUS_EVERY = 10.0  # s between counts for the progress line
SETTLE_S = 3.0  # after the last delivery: more checks by every worker, nothing may happen twice
KILL_AT = 0.25  # share of the feeds saved when a worker is killed
OUTBOX_WAIT_S = 300  # after the last match, for the outbox to empty (see wait_for_outbox)


@dataclass(frozen=True)
class Sizes:
    feeds: int
    entries: int
    stored: int
    rules: int


FULL = Sizes(feeds=2_000, entries=10, stored=100_000, rules=10_000)
QUICK = Sizes(feeds=200, entries=10, stored=10_000, rules=1_000)


# ---------------------------------------------------------------------------- databases


def prefill(url: str, config: Path, sizes: Sizes, pool: dict[int, int]) -> float:
    """The schema, S stored articles and the F feeds (as the workers' sync would add
    them, so that their start-up is the same as on any later day); returns seconds."""
    from monitor.config import load
    from monitor.store.repository import Repository

    started = time.perf_counter()
    repo = Repository.open(url)
    try:
        fill_stored(repo, sizes.stored, pool)
        repo.sync_config_feeds(load(config).feed_specs(), datetime.now(UTC))
        if repo.engine.dialect.name == "postgresql":
            vacuum_analyze(repo.engine)  # as autovacuum would have, long ago
    finally:
        repo.close()
    return time.perf_counter() - started


def write_config(
    path: Path,
    url: str,
    server: Loopback,
    watchlists: Path,
    alert_lists: Sequence[str],
    parse_workers: int | None,
    timeout: float | None = None,
) -> Path:
    polling: dict[str, Any] = {
        "interval": "1h",  # every feed is due once in a run: a second request is a duplicate
        "check_every": "1s",
        "concurrency": CONCURRENCY,
        "per_host": CONCURRENCY,
    }
    if parse_workers is not None:
        polling["parse_workers"] = parse_workers
    if timeout is not None:  # a short lease for the recovery run
        polling |= {"timeout": f"{timeout:g}s", "parse_timeout": f"{timeout:g}s"}
    config = {
        "database": {"url": url},
        "network": {"allow_private": True},
        "log": {"format": "json", "level": "debug"},  # debug: cycle.start says what was claimed
        "polling": polling,
        "alerts": {"check_every": "1s"},
        "watchlists": {"dir": str(watchlists)},
        "feeds": [{"url": u} for u in server.urls],
        "routes": [
            {
                "name": "hook",
                "schedule": "instant",
                "watchlists": list(alert_lists),
                "webhook": {"url": server.hook_url},
            }
        ],
    }
    path.write_text(json.dumps(config, indent=1) + "\n")  # JSON is YAML
    return path


# ---------------------------------------------------------------------------- workers


def start_workers(count: int, config: Path, logs: Path) -> list[subprocess.Popen[bytes]]:
    logs.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env |= {"PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1,localhost"}
    argv = [sys.executable, "-m", "monitor", "--config", str(config), "run"]
    procs = []
    for n in range(count):
        with (logs / f"worker{n}.log").open("wb") as out:
            procs.append(subprocess.Popen(argv, cwd=config.parent, env=env, stdout=out, stderr=out))
    return procs


def stop_workers(procs: Sequence[subprocess.Popen[bytes]]) -> list[str]:
    """SIGTERM to all (each finishes its cycle), then SIGKILL after 30 s."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    out = []
    for proc in procs:
        if proc.returncode == -signal.SIGKILL:
            out.append("killed by the bench")
            continue
        try:
            out.append(f"exit {proc.wait(30)}")
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            out.append("SIGKILL after 30 s")
    return out


class Sampler(threading.Thread):
    """Peak RSS of each worker (its children included) and its CPU time, every 0.2 s."""

    def __init__(self, pids: Sequence[int]) -> None:
        super().__init__(daemon=True)
        self.pids = list(pids)
        self.peak_mb = dict.fromkeys(self.pids, 0.0)
        self.cpu_s = dict.fromkeys(self.pids, 0.0)
        self.series: dict[int, list[tuple[float, float]]] = {pid: [] for pid in self.pids}
        self._halt = threading.Event()

    def run(self) -> None:
        procs = {pid: psutil.Process(pid) for pid in self.pids}
        while not self._halt.is_set():
            for pid, proc in procs.items():
                try:
                    tree = [proc, *proc.children(recursive=True)]
                    rss = sum(p.memory_info().rss for p in tree)
                    times = proc.cpu_times()
                except psutil.Error:
                    continue  # exited, or killed by the recovery run
                self.peak_mb[pid] = max(self.peak_mb[pid], rss / 2**20)
                self.series[pid].append((time.time(), rss / 2**20))
                self.cpu_s[pid] = times.user + times.system + times.children_user
                self.cpu_s[pid] += times.children_system
            self._halt.wait(SAMPLE_EVERY)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def every_second(self, pid: int, origin: float) -> list[tuple[float, float]]:
        """(s after ``origin``, MB) once a second, for the JSON: when the peak came."""
        out: list[tuple[float, float]] = []
        for t, mb in self.series[pid]:
            if not out or t - origin >= out[-1][0] + 1:
                out.append((round(t - origin, 1), round(mb, 1)))
        return out

    def mb_at(self, pid: int, at: float) -> float | None:
        """RSS at ``at`` (the last sample before it): what a worker holds once started."""
        before = [mb for t, mb in self.series[pid] if t <= at]
        return before[-1] if before else None


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent working (every core, idle and iowait out)."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0))


def read_worker_log(path: Path) -> dict[str, Any]:
    """What one worker did, from its JSON log and its console summary lines."""
    out: dict[str, Any] = {"claims": [], "fetched": 0, "failed": 0, "compared": 0}
    out |= {"matched": 0, "sent": 0, "problems": [], "near_runs": []}
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            found = re.search(r"Watchlists: (\d+) articles checked", line)
            out["matched"] += int(found[1]) if found else 0
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        event = record.get("event")
        if event in ("cycle.start", "cycle.done") and record.get("feeds"):
            at = datetime.fromisoformat(record["timestamp"]).timestamp()
            out["claims"].append((at, record["feeds"]))
        elif event in ("feed.updated", "feed.unchanged"):
            out["fetched"] += 1
        elif event == "feed.failed":
            out["failed"] += 1
        elif event == "near.done":
            out["compared"] += record.get("articles", 0)
            at = datetime.fromisoformat(record["timestamp"]).timestamp()
            out["near_runs"].append((at, record.get("articles", 0)))
        elif event == "alerts.done":
            out["sent"] += record.get("sent", 0)
        if record.get("level") in ("warning", "error") and len(out["problems"]) < 5:
            out["problems"].append(f"{event}: {record.get('error', '')}"[:300])
    return out


# ---------------------------------------------------------------------------- the database


@dataclass
class Status:
    saved_feeds: int
    new_articles: int
    uncompared: int
    unmatched: int
    deliveries: int
    undelivered: int


def all_done(engine: Any, feeds: int) -> bool:
    """Every feed saved, nothing left to compare or match: cheap index probes, asked
    twice a second (counting 20,000 pending rows that often costs PostgreSQL real CPU)."""
    from sqlalchemy import exists, func, select

    from monitor.store.models import ArticleRow, FeedRow

    saved = FeedRow.active & FeedRow.last_polled_at.is_not(None)
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(FeedRow).where(saved)).scalar() < feeds:
            return False
        pending = ArticleRow.near_at.is_(None) | ArticleRow.matched_at.is_(None)
        return not conn.execute(select(exists().where(pending))).scalar()


def saved_feeds(engine: Any) -> int:
    from sqlalchemy import func, select

    from monitor.store.models import FeedRow

    saved = FeedRow.active & FeedRow.last_polled_at.is_not(None)
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(FeedRow).where(saved)).scalar())


def status(engine: Any, since: datetime) -> Status:
    """Counts for the progress line (every 10 s) and the outbox."""
    from sqlalchemy import func, select

    from monitor.store.models import ArticleRow, DeliveryRow, FeedRow

    def count(query: Any) -> int:
        return int(conn.execute(query).scalar_one())

    n = select(func.count())
    saved = FeedRow.active & FeedRow.last_polled_at.is_not(None)
    with engine.connect() as conn:
        return Status(
            count(n.select_from(FeedRow).where(saved)),
            count(n.select_from(ArticleRow).where(ArticleRow.first_seen_at >= since)),
            count(n.select_from(ArticleRow).where(ArticleRow.near_at.is_(None))),
            count(n.select_from(ArticleRow).where(ArticleRow.matched_at.is_(None))),
            count(n.select_from(DeliveryRow)),
            count(n.select_from(DeliveryRow).where(DeliveryRow.state == "pending")),
        )


def outcome(engine: Any, since: datetime) -> dict[str, Any]:
    """What the run left in the database: counts and the last time of each stage."""
    from sqlalchemy import func, select

    from monitor.store.models import ArticleRow, CopyRow, DeliveryRow, FeedRow, MatchRow

    new = ArticleRow.first_seen_at >= since
    with engine.connect() as conn:
        first, stored, compared, matched = conn.execute(
            select(
                func.min(ArticleRow.first_seen_at),
                func.max(ArticleRow.first_seen_at),
                func.max(ArticleRow.near_at),
                func.max(ArticleRow.matched_at),
            ).where(new)
        ).one()
        counts = conn.execute(
            select(
                func.count(),
                func.count(ArticleRow.duplicate_of),
                func.count(func.distinct(ArticleRow.story_id)),
            ).where(new)
        ).one()
        states = dict(conn.execute(select(DeliveryRow.state, func.count()).group_by("state")).all())
        errors = conn.execute(
            select(func.count()).select_from(FeedRow).where(FeedRow.last_error.is_not(None))
        ).scalar_one()
        links = conn.execute(select(func.count()).select_from(CopyRow)).scalar_one()
        matches = conn.execute(select(func.count()).select_from(MatchRow)).scalar_one()
    return {
        "articles": counts[0],
        "copies": counts[1],
        "stories": counts[2],
        "links": int(links),
        "matches": int(matches),
        "feed_errors": int(errors),
        "deliveries": {str(k): int(v) for k, v in states.items()},
        "times": {
            "first_stored": first.timestamp() if first else None,
            "last_stored": stored.timestamp() if stored else None,
            "last_compared": compared.timestamp() if compared else None,
            "last_matched": matched.timestamp() if matched else None,
        },
    }


def lease_snapshot(engine: Any) -> dict[str, Any]:
    """Every unsaved feed's lease end (epoch seconds, the database's clock), by feed number,
    and the database's clock minus ours (one machine: about zero)."""
    from sqlalchemy import select

    from monitor.store import dbclock
    from monitor.store.models import FeedRow

    with engine.connect() as conn:
        db_now = conn.execute(select(dbclock.now(engine.dialect.name))).scalar_one()
        ours = time.time()
        rows = conn.execute(
            select(FeedRow.url, FeedRow.lease_until).where(
                FeedRow.active, FeedRow.last_polled_at.is_(None)
            )
        ).all()
    leased = {
        int(url.rsplit("/", 1)[1].removesuffix(".xml")): _epoch(until)
        for url, until in rows
        if until is not None
    }
    return {"unsaved": len(rows), "leased": leased, "db_clock_ahead_s": _epoch(db_now) - ours}


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


# ---------------------------------------------------------------------------- one run


@dataclass
class Kill:
    """The recovery run's kill: once ``after`` feeds are saved, SIGKILL the worker that
    has fetched the most (the one surely holding feeds)."""

    after: int
    timeout_s: float
    worker: int | None = None
    at: float | None = None
    snapshot: dict[str, Any] | None = None


def run_load(
    label: str,
    url: str,
    workers: int,
    config: Path,
    server: Loopback,
    sizes: Sizes,
    progress: Progress,
    kill: Kill | None = None,
    timeout_s: float = 1800,
) -> dict[str, Any]:
    """W workers on a freshly filled database until every feed is saved and every new
    article compared and matched, then until the outbox is empty; what happened."""
    server.reset()
    engine = engine_for(url, pool_size=1, max_overflow=0)
    since = datetime.now(UTC)
    logs = config.parent / "logs" / label.replace(" ", "-")
    server_proc = psutil.Process(server.pid)
    cpu_before = (busy_cpu_s(), _cpu(server_proc), _cpu(psutil.Process()))
    started = time.time()
    procs = start_workers(workers, config, logs)
    sampler = Sampler([p.pid for p in procs])
    sampler.start()
    deadline = time.monotonic() + timeout_s
    shown = 0.0
    try:
        while not all_done(engine, sizes.feeds):
            if time.monotonic() - shown >= STATUS_EVERY:
                shown, now = time.monotonic(), status(engine, since)
                progress.update(
                    f"{now.saved_feeds:,}/{sizes.feeds:,} feeds saved, {now.new_articles:,} new "
                    f"articles, {now.uncompared:,} to compare, {now.unmatched:,} to match"
                )
            if kill is not None and kill.at is None and saved_feeds(engine) >= kill.after:
                kill_holder(procs, logs, engine, kill)
                progress.update(f"killed worker {kill.worker}; waiting for its lease")
                deadline = time.monotonic() + kill.timeout_s
            dead = [i for i, p in enumerate(procs) if p.poll() is not None and i != kill_of(kill)]
            if dead:
                raise RuntimeError(f"{label}: worker {dead[0]} exited: see {logs}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{label}: not finished in time: {status(engine, since)}")
            time.sleep(POLL_EVERY)
        finished = time.time()
        progress.update("waiting for the outbox to empty")
        wait_for_outbox(engine, progress)
        time.sleep(SETTLE_S)
    finally:
        stopped = stop_workers(procs)
        sampler.stop()
    cpu_after = (busy_cpu_s(), _cpu(server_proc), _cpu(psutil.Process()))
    try:
        db = outcome(engine, since)
    finally:
        engine.dispose()
    seen = server.stats()
    per_worker = [read_worker_log(logs / f"worker{n}.log") for n in range(workers)]
    first_fetch = min((t for r in seen["requests"].values() for t, _ in r), default=finished)
    for n, proc in enumerate(procs):
        per_worker[n] |= {
            "peak_mb": sampler.peak_mb[proc.pid],
            "mb_at_first_fetch": sampler.mb_at(proc.pid, first_fetch),
            "mb_every_s": sampler.every_second(proc.pid, first_fetch),
            "cpu_s": sampler.cpu_s[proc.pid],
        }
    return summarise(
        label, workers, sizes, db, seen, per_worker, stopped, started, finished, kill,
        cpu=[b - a for a, b in zip(cpu_before, cpu_after, strict=True)],
    )  # fmt: skip


def _cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system)


def kill_of(kill: Kill | None) -> int | None:
    return kill.worker if kill is not None else None


def kill_holder(
    procs: Sequence[subprocess.Popen[bytes]], logs: Path, engine: Any, kill: Kill
) -> None:
    """SIGKILL the worker that has fetched the most feeds so far (its log), then note
    which feeds are leased and unsaved: the killed worker's among them wait for their
    lease to run out, the survivor's are saved as usual."""
    fetched = [read_worker_log(logs / f"worker{i}.log")["fetched"] for i in range(len(procs))]
    kill.worker = max(range(len(procs)), key=lambda i: fetched[i])
    procs[kill.worker].send_signal(signal.SIGKILL)
    kill.at = time.time()
    procs[kill.worker].wait()
    # A COMMIT the worker had sent still completes on the server: let it land first.
    time.sleep(1.0)
    kill.snapshot = lease_snapshot(engine)


def wait_for_outbox(engine: Any, progress: Progress, timeout_s: float = OUTBOX_WAIT_S) -> None:
    """Until nothing is pending and no delivery was added for 3 s (every worker has had
    several alert checks to build what the last matches called for)."""
    since = datetime.now(UTC)
    last, quiet_from = -1, time.monotonic()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = status(engine, since)
        if now.deliveries != last:
            last, quiet_from = now.deliveries, time.monotonic()
        if now.undelivered == 0 and time.monotonic() - quiet_from >= 3:
            return
        progress.update(f"{now.deliveries:,} deliveries, {now.undelivered:,} pending")
        time.sleep(POLL_EVERY)


def summarise(
    label: str,
    workers: int,
    sizes: Sizes,
    db: dict[str, Any],
    seen: dict[str, Any],
    per_worker: list[dict[str, Any]],
    stopped: list[str],
    started: float,
    finished: float,
    kill: Kill | None,
    cpu: list[float],
) -> dict[str, Any]:
    requests = {int(i): r for i, r in seen["requests"].items()}
    times = [t for r in requests.values() for t, _ in r]
    first_fetch, last_fetch = min(times), max(times)
    t = db["times"]
    end = max(x for x in (t["last_compared"], t["last_matched"]) if x is not None)
    wall = end - first_fetch
    hooks = seen["hooks"]
    duplicate_fetches = sorted(i for i, r in requests.items() if len(r) > 1)
    row: dict[str, Any] = {
        "label": label,
        "database": "sqlite" if "SQLite" in label else "postgresql",
        "workers": workers,
        "new_articles": db["articles"],
        "expected_articles": sizes.feeds * sizes.entries,
        "feeds_requested": len(requests),
        "startup_s": first_fetch - started,
        "wall_s": wall,
        "articles_per_s": db["articles"] / wall,
        "phases_s": {
            "last_fetch": last_fetch - first_fetch,
            "last_stored": (t["last_stored"] or first_fetch) - first_fetch,
            "last_compared": (t["last_compared"] or first_fetch) - first_fetch,
            "last_matched": (t["last_matched"] or first_fetch) - first_fetch,
        },
        "bench_saw_done_s": finished - first_fetch,
        "duplicate_fetches": len(duplicate_fetches),
        "deliveries_sent": db["deliveries"].get("sent", 0),
        "deliveries": db["deliveries"],
        "outbox_wait_s": OUTBOX_WAIT_S,
        "webhooks_received": sum(hooks.values()),
        "duplicate_deliveries": sum(n - 1 for n in hooks.values()),
        "peak_mb": [w["peak_mb"] for w in per_worker],
        "cpu_s": {
            "machine": cpu[0],
            "workers": sum(w["cpu_s"] for w in per_worker),
            "feed_server": cpu[1],
            "bench": cpu[2],
        },
        "per_worker": per_worker,
        "db": db,
        "stopped": stopped,
    }
    known = sum(v for k, v in row["cpu_s"].items() if k != "machine")
    row["cpu_s"]["postgres_and_other"] = cpu[0] - known
    if kill is not None:
        survivors = [w for n, w in enumerate(per_worker) if n != kill.worker]
        row |= recovery(kill, requests, duplicate_fetches, survivors)
    return row


def recovery(
    kill: Kill,
    requests: dict[int, list[tuple[float, int]]],
    duplicates: list[int],
    survivors: list[dict[str, Any]],
) -> dict[str, Any]:
    """The kill's figures. Orphans: feeds leased and unsaved at the kill that nobody asked
    for again until their lease had run out (the survivor's own are fetched at once)."""
    assert kill.at is not None and kill.snapshot is not None
    at, skew = kill.at, kill.snapshot["db_clock_ahead_s"]
    leased = {i: until - skew for i, until in kill.snapshot["leased"].items()}  # our clock
    asked_before = {i for i in leased if any(t <= at for t, _ in requests.get(i, []))}
    after = {
        i: min(t for t, _ in requests[i] if t > at) for i in leased if _asked_after(requests, i, at)
    }
    # Never asked again: saved all the same, by a commit of the killed worker still in
    # flight at the snapshot; not orphans.
    orphans = [i for i in after if after[i] >= leased[i] - 1.0]
    waits = [after[i] - at for i in orphans]
    refetched = [i for i in orphans if i in asked_before]
    return {
        "kill": {
            "worker": kill.worker,
            # The survivor's cycles and near-stage runs, in s after the kill: it polls
            # again only when its tick (poll, near, match, alerts) comes round.
            "survivor_cycles_s": [
                (round(t - at, 1), n) for w in survivors for t, n in w["claims"] if t > at
            ],
            "survivor_near_runs_s": [
                (round(t - at, 1), n) for w in survivors for t, n in w["near_runs"] if t > at
            ],
            "unsaved_at_kill": kill.snapshot["unsaved"],
            "orphans": len(orphans),
            "at_s": at - min(t for r in requests.values() for t, _ in r),
            "saved_by_its_last_commit": len([i for i in leased if i not in after]),
            "claims_held": len({leased[i] for i in orphans}),
            "lease_left_s": max((leased[i] - at for i in orphans), default=None),
            "takeover_s": min(waits, default=None),
            "recovery_s": max(waits, default=None),
            "refetched": len(refetched),
        },
        # Only a feed requested twice for another reason is a duplicate here.
        "duplicate_fetches": len([i for i in duplicates if i not in refetched]),
    }


def _asked_after(requests: dict[int, list[tuple[float, int]]], feed: int, at: float) -> bool:
    return any(t > at for t, _ in requests.get(feed, []))


def lease_length(feeds: int, timeout: float) -> float:
    """monitor.flow.Poller.lease for ``feeds`` claimed at once, with App's poll
    deadline (timeout + parse_timeout + 10 s): the longest a claim can be leased."""
    from types import SimpleNamespace

    from monitor.flow import Poller

    poller = SimpleNamespace(in_flight=IN_FLIGHT, poll_deadline=timeout + timeout + 10)
    return float(Poller.lease(poller, feeds))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- report


def _f(value: float | None, digits: int = 1) -> str:
    return dash(value, f"{{:,.{digits}f}}")


def run_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Throughput, duplicates and memory: one row per configuration."""
    runs = result["runs"]
    base = next((r for r in runs if r["database"] == "postgresql" and r["workers"] == 1), None)
    columns = [
        "configuration", "articles", "wall s", "articles/s", "vs 1 worker",
        "dup. fetches", "deliveries (dup.)", "peak RSS MB per worker",
    ]  # fmt: skip
    rows = []
    for r in runs:
        speedup = r["articles_per_s"] / base["articles_per_s"] if base else None
        rows.append(
            [
                r["label"],
                f"{r['new_articles']:,}",
                _f(r["wall_s"]),
                f"{r['articles_per_s']:,.0f}",
                f"{speedup:.2f}×" if speedup and r["database"] == "postgresql" else "—",
                str(r["duplicate_fetches"]),
                f"{r['deliveries_sent']} ({r['duplicate_deliveries']})",
                " / ".join(f"{mb:.0f}" for mb in r["peak_mb"]),
            ]
        )
    return columns, rows


def time_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Where the time goes: each stage's last write after the first fetch, who did what."""
    columns = [
        "configuration", "start-up s", "fetched", "stored", "compared", "matched",
        "feeds / compared / matched per worker", "CPU s workers", "CPU s PG + rest",
    ]  # fmt: skip
    rows = []
    for r in result["runs"]:
        p = r["phases_s"]
        work = " · ".join(f"{w['fetched']}/{w['compared']}/{w['matched']}" for w in r["per_worker"])
        rows.append(
            [
                r["label"],
                _f(r["startup_s"]),
                *(_f(p[k]) for k in ("last_fetch", "last_stored", "last_compared", "last_matched")),
                work,
                _f(r["cpu_s"]["workers"], 0),
                _f(r["cpu_s"]["postgres_and_other"], 0),
            ]
        )
    return columns, rows


def recovery_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    r = result.get("recovery")
    if not r:
        return [], []
    k = r["kill"]
    columns = ["figure", "value"]
    rows = [
        ["polling.timeout / parse_timeout", f"{result['params']['recovery_timeout']:g} s each"],
        ["feeds unsaved at the kill", f"{k['unsaved_at_kill']:,}"],
        ["orphaned: leased by the killed worker, unsaved (in how many claims)",
         f"{k['orphans']:,} ({k['claims_held']})"],
        ["saved by its last commit, still in flight at the kill",
         str(k["saved_by_its_last_commit"])],
        ["Poller.lease for 64 / all feeds claimed at once",
         f"{_f(r['lease_wave_s'])} / {_f(r['lease_all_s'])} s"],
        ["longest orphan lease left at the kill (database)", f"{_f(k['lease_left_s'])} s"],
        ["kill → takeover (first orphan fetched again)", f"{_f(k['takeover_s'])} s"],
        ["kill → every orphan fetched", f"{_f(k['recovery_s'])} s"],
        ["orphans fetched before the kill, fetched again", str(k["refetched"])],
        ["the survivor's near-stage runs ended (s after the kill: articles)",
         ", ".join(f"{t:g}: {n:,}" for t, n in k["survivor_near_runs_s"]) or "—"],
        ["the survivor's poll cycles ended (s after the kill: feeds claimed)",
         ", ".join(f"{t:g}: {n:,}" for t, n in k["survivor_cycles_s"]) or "—"],
        ["other duplicate fetches / duplicate deliveries",
         f"{r['duplicate_fetches']} / {r['duplicate_deliveries']}"],
    ]  # fmt: skip
    return columns, rows


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    runs = [*result["runs"], *([result["recovery"]] if result.get("recovery") else [])]
    out = []
    if runs:
        fetches = sum(r["duplicate_fetches"] for r in runs)
        deliveries = sum(r["duplicate_deliveries"] for r in runs)
        peak = max(mb for r in runs for mb in r["peak_mb"])
        out += [
            target("duplicate fetches: 0 (every run)", str(fetches), fetches == 0),
            target("duplicate deliveries: 0 (every run)", str(deliveries), deliveries == 0),
            target(
                f"peak RSS per worker < {MEMORY_TARGET_MB} MB", f"{peak:.0f} MB",
                peak < MEMORY_TARGET_MB,
            ),
        ]  # fmt: skip
    r = result.get("recovery")
    if r:
        # Recovery: how long the killed worker's feeds wait for another worker. Fetching
        # them once taken over is ordinary work, shown beside it (kill → every feed).
        k = r["kill"]
        took, lease = k["takeover_s"], k["lease_left_s"]
        out.append(
            target(
                f"takeover after a kill ≤ the lease left + {RECOVERY_SLACK_S} s",
                f"{_f(took)} s (lease left {_f(lease)} s; every orphan fetched at "
                f"{_f(k['recovery_s'])} s)",
                None not in (took, lease) and took <= lease + RECOVERY_SLACK_S,
            )
        )
    return out


def tables(result: dict[str, Any]) -> list[Table]:
    s = result["sizes"]
    out = []
    if result["runs"]:
        title = (
            f"{s['feeds']:,} feeds × {s['entries']} new entries, {s['stored']:,} stored, "
            f"{s['rules']:,} rules: first fetch → last stored match"
        )
        out.append(_figures(title, *run_rows(result)))
        title = "Where the time goes: s after the first feed request when the last was …"
        out.append(_figures(title, *time_rows(result)))
    if result.get("recovery"):
        title = "Recovery: 2 workers on PostgreSQL, one SIGKILLed mid-cycle"
        out.append(_figures(title, *recovery_rows(result)))
    out.append(Table("Targets", TARGET_COLUMNS, target_rows(result["targets"]), "lll"))
    return out


def _figures(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    """A label, then figures: right-aligned, as in the other benches."""
    return Table(title, columns, rows, "l" + "r" * (len(columns) - 1))


def notes(result: dict[str, Any]) -> list[str]:
    out = list(result.get("extra_notes", []))
    for r in [*result["runs"], *([result["recovery"]] if result.get("recovery") else [])]:
        if r["new_articles"] != r["expected_articles"]:
            got, wanted = r["new_articles"], r["expected_articles"]
            out.append(f"{r['label']}: {got:,} new articles, expected {wanted:,}")
        if r["db"]["feed_errors"]:
            out.append(f"{r['label']}: {r['db']['feed_errors']} feeds ended with an error")
        if r["workers"] > 1:  # who claimed what, who ran the one-at-a-time stages
            claims = [[c for _, c in w["claims"]] for w in r["per_worker"]]
            compared = [w["compared"] for w in r["per_worker"]]
            matched = [w["matched"] for w in r["per_worker"]]
            out.append(
                f"{r['label']}: feeds claimed per cycle, worker by worker: {claims}; compared "
                f"{compared}, matched {matched}"
            )
        pending = r["deliveries"].get("pending", 0)
        if pending:
            out.append(
                f"{r['label']}: the outbox still held {pending:,} deliveries "
                f"{r['outbox_wait_s']:g} s after the last match (sent {r['deliveries_sent']:,}); "
                "the duplicate count covers those sent"
            )
        for n, w in enumerate(r["per_worker"]):
            if w["problems"]:
                out.append(f"{r['label']}: worker {n} logged {w['problems'][:2]}")
    return out


def print_result(result: dict[str, Any], console: Console) -> None:
    print_tables(console, tables(result), result["notes"])


def markdown(result: dict[str, Any]) -> str:
    m, p, s = result["machine"], result["params"], result["sizes"]
    head = [
        "# Several workers: end to end on PostgreSQL, and embedded SQLite",
        "",
        f"- date: {result['started']}; total {result['total_s']:.0f} s; {m['cpu_count']} CPUs, "
        f"{m['cpu_model']}, {m['memory_gb']} GB, Python {m['bench_python']}; "
        f"load at start {m['loadavg_at_start']}",
        *code_and_command(result, "bench.workers"),
        f"- load: {s['feeds']:,} feeds on one loopback server, each with {s['entries']} new "
        f"entries of BBC text ({s['feeds'] * s['entries']:,} new articles); {s['stored']:,} "
        f"articles already stored, compared and matched; {s['rules']:,} rules in "
        f"{result['watchlists']['watchlists']} YAML watchlists; an instant webhook route on "
        f"{len(p['alert_watchlists'])} of them to a loopback receiver",
        f"- workers: `python -m monitor run` × W, started at once, polling.interval 1h, "
        f"check_every 1s, concurrency and per_host {CONCURRENCY}, parse_workers "
        f"{p['parse_workers'] if p['parse_workers'] is not None else 'default'}; each run on a "
        f"fresh copy of one pre-filled database (PostgreSQL: CREATE DATABASE … TEMPLATE; "
        f"pre-fill {result['prefill_s'].get('postgresql', 0):.0f} s)",
        "- entries: the 2,087 BBC articles with distinct bodies as they are, then later "
        "rounds of them: one in ten a syndicated copy (a dateline, a footer), the others "
        "another outlet's report (the article's title and lead, then three paragraphs of "
        "other articles of its category); stored articles: bench/neardup_db.py's fillers "
        "(sketches and index keys, empty bodies) published over the last 60 days",
        "- how monitor shares the work: a worker leases the n feeds it claims for "
        "Poller.lease(n) = (⌈n / 64⌉ + 1) × (timeout + parse_timeout + 10 s) (the notes "
        "give the feeds each worker claimed per cycle, from its log); the near stage, the "
        "match stage and building alerts run on one worker at a time (Flow._alone); "
        "sending is leased delivery by delivery",
        f"- memory: RSS of each worker process and its children every 0.2 s; recovery: 2 "
        f"workers, polling.timeout and parse_timeout {p['recovery_timeout']:g} s each; once "
        f"{KILL_AT:.0%} of the feeds are saved the worker that has fetched the most is "
        "SIGKILLed; orphans: feeds it had leased and not saved (leased feeds not asked for "
        "again before their lease ended); takeover: the kill → the first orphan's next "
        "request",
        "- wall: first feed request (server clock) → the last near_at or matched_at written "
        "(workers' clock, same machine); the phases are the last feed request, the last "
        "first_seen_at, near_at and matched_at, in s after the first request; CPU: the "
        "workers' own, and the rest of the machine's busy time less the feed server and "
        "the bench (PostgreSQL, mostly)",
    ]
    return markdown_document(head, tables(result), result["notes"])


# ---------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 feeds, 10k stored, 1k rules")
    parser.add_argument("--feeds", type=int)
    parser.add_argument("--entries", type=int)
    parser.add_argument("--stored", type=int)
    parser.add_argument("--rules", type=int)
    parser.add_argument("--workers", default="1,2,4", help="worker counts on PostgreSQL")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-recovery", action="store_true")
    parser.add_argument(
        "--recovery-timeout", type=float, default=5, help="polling.timeout and parse_timeout (5)"
    )
    parser.add_argument("--parse-workers", type=int, default=0, help="polling.parse_workers (0)")
    parser.add_argument("--alert-watchlists", type=int, default=ALERT_WATCHLISTS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    parser.add_argument("--check-targets", action="store_true", help="exit 2 on a missed target")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    args.sizes = Sizes(
        *(getattr(args, k) or getattr(base, k) for k in ("feeds", "entries", "stored", "rules"))
    )
    args.workers = [int(w) for w in args.workers.split(",") if w.strip()]
    return args


def code_state() -> list[str]:
    """The committed trees of monitor/ and alerts/, and their uncommitted changes: what
    the workers run (a commit elsewhere in the repository does not count)."""

    return [
        git("rev-parse", "HEAD:monitor", "HEAD:alerts"),
        git("diff", "HEAD", "--", "monitor", "alerts"),
    ]


@contextmanager
def scratch(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


class Bench:
    """The configurations in order, on one loopback server and one watchlist set; each
    one's failure is noted and the others still run."""

    def __init__(self, args: argparse.Namespace, tmp: Path, result: dict[str, Any]) -> None:
        self.args, self.sizes, self.tmp, self.result = args, args.sizes, tmp, result
        self.template = f"{DB_PREFIX}template"
        self.created: list[str] = []  # PostgreSQL databases to drop at the end
        self.server: Loopback | None = None
        self.pool: dict[int, int] = {}
        self.alert_lists: list[str] = []

    def config(self, name: str, url: str, timeout: float | None = None) -> Path:
        assert self.server is not None
        (self.tmp / name).mkdir(exist_ok=True)
        path = self.tmp / name / "monitor.yaml"
        lists, workers = self.alert_lists, self.args.parse_workers
        return write_config(
            path, url, self.server, self.tmp / "watchlists", lists, workers, timeout
        )

    def attempt(self, what: str, progress: Progress, run: Callable[[], None]) -> None:
        try:
            run()
        except (RuntimeError, OSError) as exc:
            progress.fail(f"{what}: {exc}")
            self.result["extra_notes"].append(f"{what} failed: {exc}")
            self.result["failed"].append(what)

    def fresh_pg(self, name: str) -> str:
        self.created.append(name)
        return clone_pg(self.template, name)

    def done_with(self, name: str) -> None:
        if not self.args.keep:
            drop_pg(name)

    def prefill_pg(self, progress: Progress) -> None:
        progress.step(f"PostgreSQL: pre-filling {self.sizes.stored:,} stored articles")
        drop_pg(self.template)
        url = create_pg(self.template)
        self.created.append(self.template)
        seconds = prefill(url, self.config("template", url), self.sizes, self.pool)
        self.result["prefill_s"]["postgresql"] = seconds
        progress.done(f"pre-filled in {seconds:.0f} s")

    def postgres(self, workers: int, progress: Progress) -> None:
        assert self.server is not None
        label = f"PostgreSQL, {workers} worker{'s' if workers > 1 else ''}"
        progress.step(label)
        name = f"{DB_PREFIX}{workers}"
        url = self.fresh_pg(name)
        row = run_load(
            label, url, workers, self.config(name, url), self.server, self.sizes, progress
        )
        self.result["runs"].append(row)
        progress.done(_summary(row))
        self.done_with(name)

    def recovery(self, progress: Progress) -> None:
        assert self.server is not None
        progress.step("recovery: 2 workers, one SIGKILLed mid-cycle")
        name, timeout = f"{DB_PREFIX}recovery", self.args.recovery_timeout
        url = self.fresh_pg(name)
        # Time enough for the longest lease a worker could hold (every feed), and more.
        kill = Kill(int(self.sizes.feeds * KILL_AT), lease_length(self.sizes.feeds, timeout) + 300)
        cfg = self.config(name, url, timeout)
        row = run_load("recovery", url, 2, cfg, self.server, self.sizes, progress, kill)
        row["lease_wave_s"] = lease_length(IN_FLIGHT, timeout)
        row["lease_all_s"] = lease_length(self.sizes.feeds, timeout)
        self.result["recovery"] = row
        k = row["kill"]
        progress.done(
            f"{k['orphans']:,} orphaned feeds taken over after {_f(k['takeover_s'])} s, all "
            f"fetched after {_f(k['recovery_s'])} s; lease left at the kill "
            f"{_f(k['lease_left_s'])} s"
        )
        self.done_with(name)

    def sqlite(self, progress: Progress) -> None:
        assert self.server is not None
        progress.step(f"SQLite: pre-filling {self.sizes.stored:,} stored articles")
        url = f"sqlite:///{self.tmp}/sqlite/monitor.db"
        cfg = self.config("sqlite", url)
        self.result["prefill_s"]["sqlite"] = prefill(url, cfg, self.sizes, self.pool)
        label = "SQLite, 1 process (embedded)"
        progress.step(label)
        row = run_load(label, url, 1, cfg, self.server, self.sizes, progress)
        self.result["runs"].append(row)
        progress.done(_summary(row))

    def run(self, progress: Progress) -> None:
        from bench.neardup_data import BBC, read_bbc

        args, sizes = self.args, self.sizes
        progress.step(f"watchlists: {sizes.rules:,} rules")
        self.result["watchlists"] = write_watchlists(self.tmp / "watchlists", sizes.rules)
        self.alert_lists = self.result["watchlists"]["names"][: args.alert_watchlists]
        self.result["params"]["alert_watchlists"] = self.alert_lists
        progress.step(f"loopback server: {sizes.feeds:,} feeds × {sizes.entries} BBC entries")
        with Loopback(sizes.feeds, sizes.entries) as self.server:
            progress.step("common index keys of the real entries (a scratch near stage)")
            self.pool = common_keys(read_bbc(BBC), sizes.feeds, sizes.entries)
            try:
                if args.workers or not args.skip_recovery:
                    self.prefill_pg(progress)
                for workers in args.workers:
                    run = partial(self.postgres, workers, progress)
                    self.attempt(f"PostgreSQL, {workers} workers", progress, run)
                if not args.skip_recovery:
                    self.attempt("recovery", progress, partial(self.recovery, progress))
                self.done_with(self.template)
                if not args.skip_sqlite:
                    self.attempt("SQLite", progress, partial(self.sqlite, progress))
            finally:
                if args.keep:
                    progress.step(f"kept {self.tmp} and databases {self.created}")
                else:
                    for name in self.created:
                        drop_pg(name)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(log_path=False)
    if not console.is_terminal:  # a log file: room for the tables
        console = Console(log_path=False, width=160)
    clock = time.monotonic()
    result: dict[str, Any] = {
        **begin("workers"),
        "code": code_state(),
        "sizes": asdict(args.sizes),
        "params": {
            "argv": command_argv(argv),
            "workers": args.workers,
            "recovery_timeout": args.recovery_timeout,
            "parse_workers": args.parse_workers,
        },
        "runs": [],
        "prefill_s": {},
        "extra_notes": [],
        "failed": [],
    }
    with Progress(console) as progress, scratch(args.keep) as tmp:
        Bench(args, tmp, result).run(progress)
    result["total_s"] = time.monotonic() - clock
    result["git_at_end"] = git_state()
    if code_state() != result["code"]:  # another hand at work: say that the code moved
        result["extra_notes"].append(
            f"monitor/ or alerts/ changed during the run (HEAD {result['git']['head']} → "
            f"{result['git_at_end']['head']}): the runs may have measured different code"
        )
    result["targets"], result["notes"] = targets(result), notes(result)
    runs = [*result["runs"], *([result["recovery"]] if result.get("recovery") else [])]
    result["valid"] = not result["failed"] and all(
        r["new_articles"] == r["expected_articles"] for r in runs
    )
    print_result(result, console)
    stem = "workers-quick" if args.quick else "workers"
    for path in write_pair(args.out, stem, result, markdown(result)):
        console.print(f"wrote {path}")
    return exit_status(result, args.check_targets)


def _summary(row: dict[str, Any]) -> str:
    return (
        f"{row['new_articles']:,} articles in {row['wall_s']:.1f} s: "
        f"{row['articles_per_s']:,.0f}/s; duplicate fetches {row['duplicate_fetches']}, "
        f"deliveries {row['deliveries_sent']} (duplicates {row['duplicate_deliveries']}); "
        f"peak {max(row['peak_mb']):.0f} MB"
    )


if __name__ == "__main__":
    sys.exit(main())
