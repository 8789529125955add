"""Alerting and running in a hostile world: kills, failing receivers, shared SQLite, DST, bad edits.

Every scenario runs the real thing: ``monitor run`` as a subprocess killed with
SIGKILL, aiosmtpd and an HTTP server on 127.0.0.1 that fail on cue, SQLite and
the local PostgreSQL, the alert stage on a clock the scenario moves. Each
returns one ``Figure`` per hazard it tries, from the Alerting and Running tables
of the design's HAZARDS.md. ``tests/alerts/test_kill.py`` was folded into the
first scenario (which also kills ingestion and the near-duplicate stage).
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import signal
import socket
import string
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor import config
from monitor.app import App
from monitor.store.models import ArticleRow, DeliveryRow, DigestRow, MatchRow
from monitor.store.repository import Repository
from tests.alert.world import alerts_only, ingest, open_app, sample_config, write_feed
from tests.conftest import FakeClock
from tests.feedserver import FeedServer, feed, rss
from tests.processes import start_monitor
from tests.processes import stop as stop_daemon
from tests.receivers import SmtpReceiver, WebhookReceiver
from tests.reliability.databases import database
from tests.reliability.figures import Figure, Scale
from tests.store import test_concurrency as writers


def watchlist(topic: str) -> str:
    """A watchlist of one rule, named after ``topic``, that matches every article on it."""
    name = topic.lower()
    return f"actors:\n  {name}: [{topic}]\nrules:\n  {name}: {{all: [{name}]}}\n"


KURSK_WATCHLIST = watchlist("Kursk")


# ------------------------------------------------------------------------------ shared helpers


def article_text(n: int, topic: str = "Kursk") -> tuple[str, str]:
    """A title and a body for article ``n``: both name ``topic``, the rest made up.

    Every fourth word is a made-up name: with ``topic`` their only name in common,
    no two articles are copies, spun copies or one story. (Made-up words alone, no
    names, are all taken for spun copies of each other: masked, they read the same.)
    """
    rng = random.Random(n)
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))) for _ in range(40)]
    named = [w.capitalize() if i % 4 == 0 else w for i, w in enumerate(words)]
    return f"{topic} dispatch {n}: {' '.join(named[:5])}", f"{topic} {' '.join(named)}."


def start_daemon(cwd: Path, log: Path | None = None) -> subprocess.Popen[bytes]:
    """``monitor run`` in ``cwd``, as a user starts it (no MONITOR_ variables of ours)."""
    return start_monitor(cwd, "run", stderr=log.open("ab") if log else subprocess.DEVNULL)


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GrowingFeeds:
    """Loopback RSS feeds that gain articles over time, so a kill can cut ingestion short."""

    def __init__(self, count: int) -> None:
        self.server = FeedServer("127.0.0.1")
        self.items: list[list[dict[str, Any]]] = [[] for _ in range(count)]
        self.published = 0
        self._lock = threading.Lock()

    def __enter__(self) -> GrowingFeeds:
        self.server.start()
        for index in range(len(self.items)):
            self._serve(index)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.stop()

    def urls(self) -> list[str]:
        return [self.server.url(f"/feed/{i}.xml") for i in range(len(self.items))]

    def publish(self, topic: str = "Kursk", index: int | None = None) -> str:
        """One more article on one feed (a random one unless given); returns its title."""
        with self._lock:
            n = self.published
            self.published += 1
            title, body = article_text(n, topic)
            index = n % len(self.items) if index is None else index
            self.items[index].append({"guid": f"item-{n}", "title": title, "description": body})
            self._serve(index)
        return title

    def titles(self) -> list[str]:
        with self._lock:
            return [item["title"] for items in self.items for item in items]

    def _serve(self, index: int) -> None:
        # The ETag changes with the content: an unchanged feed answers 304, as real ones do.
        body = rss(*self.items[index], title=f"Feed {index}")
        self.server.routes[f"/feed/{index}.xml"] = feed(body, etag=f'"{len(self.items[index])}"')


def stored_titles(db_url: str) -> Counter[str]:
    repo = Repository.open(db_url)
    try:
        with Session(repo.engine) as session:
            return Counter(session.scalars(select(ArticleRow.title)))
    finally:
        repo.close()


# ---------------------------------------------------------------- 1. SIGKILL, again and again

KILL_WINDOW = (0.3, 3.0)  # seconds a daemon lives before its SIGKILL: start-up to sending
PUBLISH_EVERY = 0.25  # a new article on a loopback feed this often while daemons are killed
# A daemon killed mid-poll holds its feeds for 2 × (timeout + parse_timeout + 10 s),
# 40 s with the timeouts set below (Poller.lease); one killed inside a stage (near,
# match, alerts) holds that stage for 60 s (monitor.store.leases.held). The clean
# run must outlast both, then send every alert (each held 0.15 s by the receiver).
DRAIN_BASE = 75.0
DRAIN_PER_ARTICLE = 0.3
ALERT_CAP, ALERT_WINDOW = 4, timedelta(seconds=2)  # instant alerts of the hook route


@dataclass
class KillRun:
    kills: int = 0
    served: list[str] = field(default_factory=list)
    stored: Counter[str] = field(default_factory=Counter)
    hooks: Counter[str] = field(default_factory=Counter)  # webhook-id → copies received
    alerted: Counter[str] = field(default_factory=Counter)  # title → alerts that told it
    busiest: int = 0  # the most alerts made in any one ALERT_WINDOW
    mails: Counter[str] = field(default_factory=Counter)  # Message-ID → copies received
    outbox: dict[str, str] = field(default_factory=dict)  # message id → state
    digested: int = 0  # stories in the mail route's digests
    drained: bool = False


def kill_scenario(scale: Scale) -> list[Figure]:
    """SIGKILL ``scale.kills`` times on SQLite and on PostgreSQL, side by side."""
    with ThreadPoolExecutor(2) as pool:  # the two databases' lease waits overlap
        return list(pool.map(lambda kind: _kill_figure(kind, scale.kills), ["sqlite", "postgres"]))


def _kill_figure(kind: str, kills: int) -> Figure:
    hazard = f"Killed (SIGKILL) mid-ingestion and mid-delivery, {kind}"
    target = "every article once, lost 0, a repeat only with its delivery's id"
    try:
        run = kill_run(kind, kills, random.Random(kind))
    except (OSError, psycopg.OperationalError) as exc:
        return Figure("alerting", hazard, 0, f"could not run: {exc}", target, False)
    return Figure("alerting", hazard, run.kills, describe_kills(run), target, kills_met(run))


def kill_run(kind: str, kills: int, rng: random.Random) -> KillRun:
    """Kill ``monitor run`` ``kills`` times while feeds grow, then let one clean run drain."""
    with (
        tempfile.TemporaryDirectory(prefix="kill-") as tmp_name,
        database(kind, Path(tmp_name)) as db_url,
        GrowingFeeds(4) as feeds,
        SmtpReceiver("none") as smtp,
        WebhookReceiver() as hook,
    ):
        tmp = Path(tmp_name)
        _kill_config(tmp, db_url, feeds, smtp, hook)
        # Slow answers widen the window between the receiver's acceptance and our commit.
        hook.hang(0.15, times=100_000)
        run = KillRun()
        _publish_while(feeds, lambda: _kill_many(tmp, kills, rng, run))
        run.served = feeds.titles()
        daemon = start_daemon(tmp)
        try:
            drain = DRAIN_BASE + DRAIN_PER_ARTICLE * len(run.served)
            run.drained = wait_until(lambda: _drained(db_url, run, smtp, hook), drain, 0.5)
        finally:
            stop_daemon(daemon)
        _read_outcome(db_url, run, smtp, hook)
        return run


def _kill_config(
    tmp: Path, db_url: str, feeds: GrowingFeeds, smtp: SmtpReceiver, hook: WebhookReceiver
) -> None:
    (tmp / "watchlists").mkdir()
    (tmp / "watchlists" / "kursk.yaml").write_text(KURSK_WATCHLIST)
    email = {"host": "127.0.0.1", "port": smtp.port, "security": "none", "timeout": "1s"}
    settings = {
        "database": {"url": db_url},
        "network": {"allow_private": True},
        # Every stage runs, the near-duplicate one too; no two articles are alike, so
        # each is a story of its own and one instant alert: the counts are exact.
        "polling": {
            "interval": "1s",
            "min_interval": "1s",
            "check_every": "0.3s",
            "timeout": "5s",
            "parse_timeout": "5s",
        },
        "alerts": {"check_every": "0.2s", "retry_base": "1s", "retry_max": "2s"},
        "feeds": [{"url": url} for url in feeds.urls()],
        "routes": [
            {
                "name": "hook",
                "schedule": "instant",
                # A flood's overflow (the stories past the cap, in one message) is
                # killed mid-way too: counted by the stories each alert tells.
                "max_alerts": ALERT_CAP,
                "alert_window": f"{ALERT_WINDOW.total_seconds()}s",
                "max_entries": 10_000,
                "webhook": {"url": hook.url(), "timeout": "2s"},
            },
            {
                "name": "mail",
                "schedule": "every 2s",
                "email": email | {"from": "m@example.org", "to": ["d@example.org"]},
            },
        ],
    }
    (tmp / "monitor.yaml").write_text(json.dumps(settings))


def _publish_while(feeds: GrowingFeeds, work: Callable[[], None]) -> None:
    done = threading.Event()

    def publish() -> None:
        while not done.wait(PUBLISH_EVERY):
            feeds.publish()

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    try:
        work()
    finally:
        done.set()
        publisher.join()


def _kill_many(tmp: Path, kills: int, rng: random.Random, run: KillRun) -> None:
    for _ in range(kills):
        daemon = start_daemon(tmp)
        time.sleep(rng.uniform(*KILL_WINDOW))
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(10)
        run.kills += 1


def _drained(db_url: str, run: KillRun, smtp: SmtpReceiver, hook: WebhookReceiver) -> bool:
    """Everything served is stored, alerted and digested, and the outbox is empty."""
    _read_outcome(db_url, run, smtp, hook)
    served = len(run.served)
    return (
        sum(run.stored.values()) >= served
        and sum(run.alerted.values()) >= served
        and run.digested >= served
        and set(run.outbox.values()) == {"sent"}
    )


def _read_outcome(db_url: str, run: KillRun, smtp: SmtpReceiver, hook: WebhookReceiver) -> None:
    run.stored = stored_titles(db_url)
    run.hooks = Counter(r.headers["webhook-id"] for r in hook.accepted())
    bodies = {r.headers["webhook-id"]: json.loads(r.body) for r in hook.accepted()}
    run.alerted = Counter(
        e["title"] for body in bodies.values() for g in body["groups"] for e in g["entries"]
    )
    run.mails = Counter(str(m.message["Message-ID"]) for m in smtp.messages)
    repo = Repository.open(db_url)
    try:
        deliveries = repo.deliveries(limit=100_000)
        run.outbox = {d.message_id: d.state for d in deliveries}
        made = sorted(d.created_at for d in deliveries if d.route == "hook")
        run.busiest = max((sum(t <= u < t + ALERT_WINDOW for u in made) for t in made), default=0)
        with Session(repo.engine) as session:
            stories = func.coalesce(func.sum(DigestRow.entries + DigestRow.more), 0)
            run.digested = int(
                session.scalar(select(stories).where(DigestRow.route == "mail")) or 0
            )
    finally:
        repo.close()


def kill_losses(run: KillRun) -> int:
    """Articles never stored, never alerted or never digested, and deliveries never received."""
    received = set(run.hooks) | set(run.mails)
    unsent = sum(1 for message_id in run.outbox if message_id not in received)
    served = len(run.served)
    unstored = len(set(run.served) - set(run.stored))
    unalerted = len(set(run.served) - set(run.alerted))
    return unstored + unalerted + max(0, served - run.digested) + unsent


def kills_met(run: KillRun) -> bool:
    received = set(run.hooks) | set(run.mails)
    return (
        run.drained
        and kill_losses(run) == 0
        and run.stored == Counter(run.served)  # each served article stored exactly once
        and received == set(run.outbox)  # a repeat carries the id of a delivery we made
        and run.alerted == Counter(run.served)  # each article alerted once
        and run.busiest <= ALERT_CAP  # a flood's overflow goes together, in one alert
        and run.digested == len(run.served)  # every article in one digest
    )


def describe_kills(run: KillRun) -> str:
    twice = sum(n - 1 for n in run.stored.values() if n > 1)
    repeats = (run.hooks.total() - len(run.hooks)) + (run.mails.total() - len(run.mails))
    foreign = len((set(run.hooks) | set(run.mails)) - set(run.outbox))
    return (
        f"{len(run.served)} articles served, {sum(run.stored.values())} stored "
        f"({twice} twice); {len(run.hooks)} alerts (at most {run.busiest} in "
        f"{ALERT_WINDOW.total_seconds():g} s) and {len(run.mails)} digests "
        f"({run.digested} stories) delivered, lost {kill_losses(run)}, repeated {repeats}, "
        f"repeats with an unknown id {foreign}" + ("" if run.drained else "; never drained")
    )


# ------------------------------------------------- 2. receivers that fail, hang, throttle, go

SMTP_TIMEOUT = 0.5  # per SMTP command; the send's deadline is four times this
HOOK_TIMEOUT = 1.0  # the webhook's deadline
RETRY_STEPS = 8  # retries driven (clock moved to the next attempt) before giving up


@dataclass
class DeliveryWorld:
    app: App
    clock: FakeClock
    smtp: SmtpReceiver
    hook: WebhookReceiver
    feed: Path
    items: list[tuple[str, str, str, datetime]] = field(default_factory=list)

    def publish(self) -> None:
        """A new matching article, so each route has a digest due at its next period."""
        n = len(self.items)
        title, body = article_text(10_000 + n, "Zanzibar")
        self.items.append((f"z-{n}", title, body, self.clock.now()))
        write_feed(self.feed, self.items)

    def received(self, route: str, message_id: str) -> int:
        if route == "mail":
            return sum(str(m.message["Message-ID"]) == message_id for m in self.smtp.messages)
        return sum(r.headers["webhook-id"] == message_id for r in self.hook.accepted())


@dataclass(frozen=True)
class Fault:
    hazard: str
    route: str  # the route whose receiver misbehaves
    inject: Callable[[DeliveryWorld], None]
    state: str  # what its delivery must be after the failed attempt
    needs_person: bool = False  # parked: `monitor deliveries retry` brings it back
    deadline: float | None = None  # a hang: given up on within deadline + 1 s
    retry_after: float | None = None  # asked wait that the next attempt must respect


FAULTS = (
    Fault(
        "SMTP 4xx, throttled three times",
        "mail",
        lambda w: w.smtp.fail_next(3, "tempfail"),
        "pending",
    ),
    Fault("SMTP 5xx", "mail", lambda w: w.smtp.fail_next(1, "permfail"), "parked", True),
    Fault("SMTP connection dropped", "mail", lambda w: w.smtp.fail_next(1, "drop"), "pending"),
    Fault(
        "SMTP server hangs",
        "mail",
        lambda w: w.smtp.fail_next(1, "hang"),
        "pending",
        deadline=SMTP_TIMEOUT * 4,
    ),
    Fault("Webhook 500", "hook", lambda w: w.hook.respond(500), "pending"),
    Fault(
        "Webhook 429 with Retry-After: 600",
        "hook",
        lambda w: w.hook.respond(429, retry_after="600"),
        "pending",
        retry_after=600,
    ),
    Fault(
        "Webhook hangs past its deadline",
        "hook",
        lambda w: w.hook.hang(600),  # answered, if ever, long after the client left
        "pending",
        deadline=HOOK_TIMEOUT,
    ),
    Fault("Webhook 410 Gone", "hook", lambda w: w.hook.respond(410), "parked", True),
)


@dataclass(frozen=True)
class FaultRun:
    state: str  # the faulted route's delivery after the failed attempt
    disabled: bool  # the faulted route disabled
    other_sent: bool  # the other route's digest of the same period sent, once
    copies: int  # copies of the faulted digest received after recovery
    gave_up_s: float  # how long the failing attempt took
    waited_s: float | None  # how long the retry was set to wait


def delivery_scenario(scale: Scale) -> list[Figure]:
    """Each fault ``scale.runs`` times on one monitor with a mail and a webhook route."""
    with (
        tempfile.TemporaryDirectory(prefix="faults-") as tmp_name,
        SmtpReceiver("none") as smtp,
        WebhookReceiver() as hook,
    ):
        world = _delivery_world(Path(tmp_name), smtp, hook)
        with world.app:
            ingest(world.app)
            alerts_only(world.app)  # the sample corpus's first digests, all healthy
            results = {f: [_fault_run(world, f) for _ in range(scale.runs)] for f in FAULTS}
    return [_fault_figure(fault, runs) for fault, runs in results.items()]


def _delivery_world(tmp: Path, smtp: SmtpReceiver, hook: WebhookReceiver) -> DeliveryWorld:
    routes = (
        f"  - name: mail\n    schedule: every 1h\n    email: {{host: 127.0.0.1, port: {smtp.port}, "
        f"security: none, timeout: {SMTP_TIMEOUT}s, from: m@example.org, to: [d@example.org]}}\n"
        f"  - name: hook\n    schedule: every 1h\n"
        f"    webhook: {{url: '{hook.url()}', timeout: {HOOK_TIMEOUT}s}}\n"
    )
    extra = "alerts: {retry_base: 10s, retry_max: 60s}\nduplicates: {enabled: false}"
    cfg = sample_config(tmp, f"sqlite:///{tmp / 'm.db'}", routes, extra)
    # Stories of our own next to the sample corpus's: one new story per period.
    (tmp / "watchlists" / "zanzibar.yaml").write_text(watchlist("Zanzibar"))
    clock = FakeClock()
    return DeliveryWorld(open_app(cfg, clock), clock, smtp, hook, tmp / "feeds" / "extra.rss")


def _fault_run(w: DeliveryWorld, fault: Fault) -> FaultRun:
    """A new period's digests while one receiver misbehaves, then its recovery."""
    w.clock.advance(hours=1, minutes=1)
    w.publish()
    ingest(w.app)
    before = {d.id for d in w.app.repo.deliveries(limit=10_000)}
    fault.inject(w)
    started = time.monotonic()
    alerts_only(w.app)
    gave_up = time.monotonic() - started
    new = {d.route: d for d in w.app.repo.deliveries(limit=10_000) if d.id not in before}
    faulted, other = new.get(fault.route), new.get("mail" if fault.route == "hook" else "hook")
    if faulted is None or other is None:  # a period with no digest: nothing to judge by
        return FaultRun("no digest built", False, False, 0, gave_up, None)
    disabled = w.app.repo.route_states()[fault.route].disabled_reason is not None
    waited = (faulted.next_attempt_at - w.clock.now()).total_seconds()
    _recover(w, faulted.id, fault)
    return FaultRun(
        state=faulted.state,
        disabled=disabled,
        other_sent=other.state == "sent" and w.received(other.route, other.message_id) == 1,
        copies=w.received(fault.route, faulted.message_id),
        gave_up_s=gave_up,
        waited_s=waited if faulted.state == "pending" else None,
    )


def _recover(w: DeliveryWorld, delivery_id: int, fault: Fault) -> None:
    """The receiver answers again; a parked delivery is retried as a person would."""
    w.smtp.set_mode("ok")  # also wakes a hanging DATA handler, whose client has left
    if fault.needs_person:
        w.app.repo.retry_delivery(delivery_id, w.clock.now())
    for _ in range(RETRY_STEPS):
        found = w.app.repo.delivery(delivery_id)
        if found is None or found.state != "pending":
            return
        w.clock.current = max(w.clock.current, found.next_attempt_at) + timedelta(seconds=1)
        alerts_only(w.app)


def fault_ok(fault: Fault, run: FaultRun) -> bool:
    gone = fault.hazard.endswith("410 Gone")
    return (
        run.state == fault.state
        and run.disabled == gone
        and run.other_sent
        and run.copies == 1
        and (fault.deadline is None or run.gave_up_s <= fault.deadline + 1)
        and (fault.retry_after is None or (run.waited_s or 0) >= fault.retry_after)
    )


def _fault_figure(fault: Fault, runs: list[FaultRun]) -> Figure:
    good = sum(fault_ok(fault, run) for run in runs)
    states = "/".join(sorted({r.state + (" (route disabled)" if r.disabled else "") for r in runs}))
    outcome = (
        f"{good}/{len(runs)} as expected: {states} on {fault.route}, then delivered "
        f"{'/'.join(str(c) for c in sorted({r.copies for r in runs}))}× after recovery; "
        f"other route sent {sum(r.other_sent for r in runs)}/{len(runs)}"
    )
    target = f"{fault.state} on {fault.route} only, then delivered once"
    if fault.deadline is not None:
        outcome += f"; gave up after ≤ {max(r.gave_up_s for r in runs):.1f} s"
        target += f"; gave up ≤ {fault.deadline + 1:g} s (deadline {fault.deadline:g} s + 1 s)"
    if fault.retry_after is not None:
        waits = [r.waited_s or 0 for r in runs]
        outcome += f"; next attempt after ≥ {min(waits):.0f} s"
        target += f"; wait ≥ {fault.retry_after:g} s"
    return Figure("alerting", fault.hazard, len(runs), outcome, target, good == len(runs))


# ------------------------------------------------------ 3. processes sharing one SQLite file


def sqlite_writers_scenario(scale: Scale) -> list[Figure]:
    """tests/store/test_concurrency.s four writer processes, ``runs // 3`` times on fresh files."""
    runs = max(1, scale.runs // 3)  # each run costs seconds: four processes start
    locks = others = whole = 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="writers-") as tmp:
            url = f"sqlite:///{tmp}/shared.db"
            try:
                errors = writers.run_workers(url)
            except AssertionError:
                errors = ["a writer process died"]
            locks += sum("locked" in error for error in errors)
            others += sum("locked" not in error for error in errors)
            whole += stored_articles(url) == writers.POLLS * 5
    outcome = (
        f"{locks} lock errors, {others} other errors; every story stored once in "
        f"{whole}/{runs} runs ({writers.WORKERS} processes × {writers.POLLS} polls)"
    )
    met = locks == others == 0 and whole == runs
    hazard = f"{writers.WORKERS} processes writing one SQLite file at once"
    return [Figure("running", hazard, runs, outcome, "0 lock errors", met)]


def stored_articles(url: str) -> int:
    repo = Repository.open(url)
    try:
        return repo.count_articles()
    finally:
        repo.close()


# ------------------------------------------------------------- 4. daylight saving, both ways

# The changes of 2026 (UTC): clocks go forward in spring, back in autumn.
DST_CHANGES = {
    "Europe/London": (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)),
    "America/New_York": (
        datetime(2026, 3, 8, 7, tzinfo=UTC),
        datetime(2026, 11, 1, 6, tzinfo=UTC),
    ),
}
# 01:30 is skipped in London's spring and repeated in both zones' autumn; 02:30 is
# skipped in New York's spring; an hourly route meets the repeated and skipped hours.
DST_ROUTES = {"daily-0130": "30 1 * * *", "daily-0230": "30 2 * * *", "hourly": "0 * * * *"}
DST_STEP = timedelta(minutes=20)  # between the alert stage's checks (under an hour)


def dst_scenario(scale: Scale) -> list[Figure]:
    """Cron routes driven through the alert stage around each change, in two zones."""
    hours = 20 + 2 * scale.runs  # each side of the change: the day before and after
    found: dict[str, tuple[int, int, int]] = dict.fromkeys(DST_ROUTES, (0, 0, 0))
    for zone, changes in DST_CHANGES.items():
        for change in changes:
            for route, (periods, missing, doubled) in dst_window(zone, change, hours).items():
                total = found[route]
                found[route] = (total[0] + periods, total[1] + missing, total[2] + doubled)
    return [_dst_figure(route, *counts) for route, counts in found.items()]


def dst_window(zone: str, change: datetime, hours: int) -> dict[str, tuple[int, int, int]]:
    """For each route: local periods expected, periods with no digest, digests beyond one."""
    start, end = change - timedelta(hours=hours), change + timedelta(hours=hours)
    with tempfile.TemporaryDirectory(prefix="dst-") as tmp_name:
        tmp = Path(tmp_name)
        routes = "\n".join(
            f"  - {{name: {name}, file: {{dir: out}}, schedule: '{expr}', timezone: {zone}, "
            "send_empty: true}"
            for name, expr in DST_ROUTES.items()
        )
        text = f"database: {{url: 'sqlite:///{tmp / 'm.db'}'}}\nroutes:\n{routes}\n"
        clock = FakeClock(start)
        with open_app(config.from_text(text, tmp), clock) as app:
            while clock.current < end:
                clock.advance(seconds=DST_STEP.total_seconds())
                app.alerts.build()
            sent = digest_periods(app)
    result = {}
    for name, expr in DST_ROUTES.items():
        expected = local_periods(expr, ZoneInfo(zone), start, clock.current)
        keys = sent.get(name, [])
        got = Counter(period_of(expr, key) for key in keys)
        missing = len(expected - set(got))
        doubled = sum(n - 1 for n in got.values()) + len(set(got) - expected)
        result[name] = (len(expected), missing, doubled + len(keys) - len(set(keys)))
    return result


def local_periods(expr: str, zone: ZoneInfo, start: datetime, end: datetime) -> set[str]:
    """The local periods in (start, end] that need a digest, counted apart from the schedule
    code: each local day for a daily time (even the day its time does not exist), each local
    hour the clocks show for an hourly route (the repeated hour once, the skipped one never).
    """
    minute, hour = expr.split()[:2]
    if hour == "*":
        steps = range(1, int((end - start) / timedelta(hours=1)) + 1)
        instants = (start + timedelta(hours=n) for n in steps)
        return {at.astimezone(zone).isoformat()[:13] for at in instants}
    days = range((end - start).days + 2)
    first = start.astimezone(zone).date()
    nominal = (
        datetime.combine(first + timedelta(days=n), wall_time(int(hour), int(minute)), zone)
        for n in days
    )
    return {at.date().isoformat() for at in nominal if start < at <= end}


def period_of(expr: str, key: str) -> str:
    """A digest's local period from its key (local wall-clock end): its hour or its day."""
    return key[:13] if expr.split()[1] == "*" else key[:10]


def digest_periods(app: App) -> dict[str, list[str]]:
    """Each route's digests that went into the outbox, by local period."""
    query = select(DigestRow.route, DigestRow.period).join(
        DeliveryRow, DeliveryRow.digest_id == DigestRow.id
    )
    with Session(app.repo.engine) as session:
        rows = session.execute(query).all()
    found: dict[str, list[str]] = {}
    for route, period in rows:
        found.setdefault(route, []).append(period)
    return found


def _dst_figure(route: str, periods: int, missing: int, doubled: int) -> Figure:
    return Figure(
        "running",
        f"Cron digest '{DST_ROUTES[route]}' across both DST changes (London, New York)",
        periods,
        f"{periods} local periods: {missing} without a digest, {doubled} extra digests",
        "exactly one digest per local period",
        missing == doubled == 0,
    )


# ------------------------------------------------------ 5. watchlist files edited into errors

RELOAD_EVERY = 0.2  # the daemon looks at the files this often; a file settles for 0.5 s
BILLION_LAUGHS = (
    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + KURSK_WATCHLIST
)


@dataclass(frozen=True)
class BadEdit:
    hazard: str
    text: Callable[[Path], str]  # what the file is left holding (given the scenario's dir)
    says: str  # in the error the registry reports
    line: bool = True  # the error names a line (a size cap names the file only)


BAD_EDITS = (
    BadEdit("Watchlist file truncated", lambda _: KURSK_WATCHLIST[:-8], "invalid YAML"),
    BadEdit(
        "Watchlist file with a !!python/object tag",
        lambda tmp: (
            f"description: !!python/object/apply:os.system 'touch {tmp}/pwned'\n" + KURSK_WATCHLIST
        ),
        "python/object",
    ),
    BadEdit("Watchlist alias bomb (billion laughs)", lambda _: BILLION_LAUGHS, "alias bomb"),
    BadEdit(
        "Watchlist file over the size cap",
        lambda _: KURSK_WATCHLIST + "# padding\n" * 210_000,
        "larger than",
        line=False,
    ),
)


@dataclass
class EditRun:
    reported: bool = False  # the daemon logged the error
    names_place: bool = False  # the error names the file (and line)
    kept_matching: bool = False  # an article published after the edit matched the old rule
    counted: bool = False  # the reload metric counted a refused version
    executed: bool = False  # the python tag ran (it must not)


class WatchlistDaemon:
    """``monitor run`` on a growing loopback feed, with JSON logs and its metrics page."""

    def __init__(self, tmp: Path, feeds: GrowingFeeds) -> None:
        self.tmp, self.feeds = tmp, feeds
        self.file = tmp / "watchlists" / "watch.yaml"
        self.log = tmp / "daemon.log"
        self.port = free_port()
        self.db_url = f"sqlite:///{tmp / 'm.db'}"
        self.daemon: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        (self.tmp / "watchlists").mkdir()
        self.file.write_text(KURSK_WATCHLIST)
        settings = {
            "database": {"url": self.db_url},
            "network": {"allow_private": True},
            "polling": {"interval": "1s", "min_interval": "1s", "check_every": "0.2s"},
            "duplicates": {"enabled": False},
            "watchlists": {"reload_every": f"{RELOAD_EVERY}s"},
            "http": {"enabled": True, "port": self.port},
            "log": {"format": "json"},
            "feeds": [{"url": url} for url in self.feeds.urls()],
        }
        (self.tmp / "monitor.yaml").write_text(json.dumps(settings))
        self.daemon = start_daemon(self.tmp, self.log)

    def stop(self) -> None:
        if self.daemon is not None:
            stop_daemon(self.daemon)

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict) and event.get("event") == name:
                    found.append(event)
        return found

    def rejected(self) -> float:
        """What the reload metric counts as refused versions (0 while the page is not up)."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                text = answer.read().decode()
        except OSError:
            return 0.0
        found = re.search(
            r'^monitor_watchlist_reloads_total\{outcome="rejected"\} (\S+)', text, re.M
        )
        return float(found[1]) if found else 0.0

    def matched(self, topic: str, rule: str, timeout: float = 20) -> bool:
        """An article on ``topic`` published now is matched by ``rule`` within ``timeout``."""
        title = self.feeds.publish(topic, index=0)
        query = (
            select(MatchRow.rule)
            .join(ArticleRow, ArticleRow.id == MatchRow.article_id)
            .where(ArticleRow.title == title)
        )
        repo = Repository.open(self.db_url)
        try:

            def found() -> bool:
                with Session(repo.engine) as session:
                    return rule in set(session.scalars(query))

            return wait_until(found, timeout)
        finally:
            repo.close()


def watchlist_scenario(scale: Scale) -> list[Figure]:
    """Bad edits under a running daemon, ``max(1, runs // 3)`` rounds (each costs seconds)."""
    rounds = max(1, scale.runs // 3)
    runs: dict[BadEdit, list[EditRun]] = {edit: [] for edit in BAD_EDITS}
    halves: list[tuple[bool, bool]] = []
    with tempfile.TemporaryDirectory(prefix="reload-") as tmp_name, GrowingFeeds(1) as feeds:
        daemon = WatchlistDaemon(Path(tmp_name), feeds)
        daemon.start()
        try:
            started = daemon.matched("Kursk", "kursk", timeout=60)
            for _ in range(rounds):
                for edit in BAD_EDITS:
                    runs[edit].append(bad_edit(daemon, edit))
                halves.append(half_written(daemon))
        finally:
            daemon.stop()
    figures = [_edit_figure(edit, found, started) for edit, found in runs.items()]
    return [*figures, _half_figure(halves, started)]


def bad_edit(daemon: WatchlistDaemon, edit: BadEdit) -> EditRun:
    run = EditRun()
    seen, counted = len(daemon.events("watchlist.invalid")), daemon.rejected()
    daemon.file.write_text(edit.text(daemon.tmp))
    run.reported = wait_until(lambda: len(daemon.events("watchlist.invalid")) > seen, 15)
    if run.reported:
        error = str(daemon.events("watchlist.invalid")[-1].get("error", ""))
        place = (
            rf"{re.escape(str(daemon.file))}:\d+:\d+" if edit.line else re.escape(str(daemon.file))
        )
        run.names_place = edit.says in error and re.search(place, error) is not None
    run.kept_matching = daemon.matched("Kursk", "kursk")
    run.counted = wait_until(lambda: daemon.rejected() > counted, 5)
    run.executed = (daemon.tmp / "pwned").exists()
    daemon.file.write_text(KURSK_WATCHLIST)  # fixed again: the next edit starts from good
    return run


def half_written(daemon: WatchlistDaemon) -> tuple[bool, bool]:
    """A new version written in two parts, the first left alone longer than a reload
    period but shorter than the settle time. Returns (never read half, whole in force)."""
    seen = len(daemon.events("watchlist.invalid"))
    reloads = len(daemon.events("watchlists.loaded"))
    whole = KURSK_WATCHLIST + "  cobalt: {all: [cobalt]}\n"
    whole = whole.replace("rules:", "concepts:\n  cobalt: [cobalt]\nrules:")
    with daemon.file.open("w") as out:
        out.write(whole[: len(whole) // 2])
        out.flush()
        time.sleep(RELOAD_EVERY + 0.1)  # a look comes meanwhile, the 0.5 s settle does not
        out.write(whole[len(whole) // 2 :])
    # An article polled before the new version is in force is matched by the rules
    # then in force, as a user would expect: publish once the daemon has loaded it.
    # The version with the cobalt rule: the earlier fix-up of a bad edit may still
    # be loading, and its event says nothing about this version.
    in_force = wait_until(lambda: _rules_loaded(daemon, reloads) == 2, 20)
    loaded = in_force and daemon.matched("Cobalt", "cobalt")
    clean = len(daemon.events("watchlist.invalid")) == seen
    # Back to one rule, and wait until that is in force: a version overwritten before
    # it settles is never loaded, so the next round would find its "new" version
    # already in force and see no reload at all.
    before = len(daemon.events("watchlists.loaded"))
    daemon.file.write_text(KURSK_WATCHLIST)
    wait_until(lambda: _rules_loaded(daemon, before) == 1, 20)
    return clean, loaded


def _rules_loaded(daemon: WatchlistDaemon, after: int) -> int:
    """The rules in force by the last ``watchlists.loaded`` since the first ``after``."""
    loaded = daemon.events("watchlists.loaded")[after:]
    return int(loaded[-1].get("rules", 0)) if loaded else 0


def _edit_figure(edit: BadEdit, runs: list[EditRun], started: bool) -> Figure:
    def share(attribute: str) -> str:
        return f"{sum(getattr(r, attribute) for r in runs)}/{len(runs)}"

    outcome = (
        f"old rules kept matching {share('kept_matching')}; error reported "
        f"{share('reported')}, naming {'file:line' if edit.line else 'the file'} "
        f"{share('names_place')}; reload metric counted it {share('counted')}"
    )
    ok = started and all(
        r.reported and r.names_place and r.kept_matching and r.counted and not r.executed
        for r in runs
    )
    if any(r.executed for r in runs):
        outcome += "; THE TAG RAN"
    target = "last good version matches; error names file" + (":line" if edit.line else "")
    return Figure("running", edit.hazard, len(runs), outcome, target + "; metric shows it", ok)


def _half_figure(halves: list[tuple[bool, bool]], started: bool) -> Figure:
    clean, loaded = (sum(found) for found in zip(*halves, strict=True))
    good = sum(c and w for c, w in halves)
    return Figure(
        "running",
        "Watchlist file half-written when the daemon looks",
        len(halves),
        f"half never read {clean}/{len(halves)}; the whole version matching once complete "
        f"{loaded}/{len(halves)}",
        "no error from the half file; the new rules apply once it is whole",
        started and good == len(halves),
    )


SCENARIOS = (
    kill_scenario,
    delivery_scenario,
    sqlite_writers_scenario,
    dst_scenario,
    watchlist_scenario,
)
