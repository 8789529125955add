"""The daemon killed (SIGKILL) at random moments, again and again: no alert lost, repeats same id.

Each run starts ``monitor run`` against the same database, waits a random time
(covering start-up, polling, matching, building and sending) and kills it. The
webhook receiver answers slowly, which widens the window between its accepting
a delivery and our commit: the one place a repeat may happen. At the end one
clean run drains the outbox. ``MONITOR_KILL_RUNS`` sets the number of kills
(CI runs a few; the reliability report runs many).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from monitor.store.repository import Repository
from tests.alerts.receivers import SmtpReceiver, WebhookReceiver
from tests.alerts.world import SAMPLE_STORIES, sample_config

KILLS = int(os.environ.get("MONITOR_KILL_RUNS", "12"))


def _start(cwd: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "run"],
        cwd=cwd,
        env=env | {"TEST_WEBHOOK_SECRET": "whsec_" + "a2lsbC10ZXN0LXNlY3JldC1rZXk="},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_killing_the_daemon_at_random_points_loses_no_alert(
    tmp_path: Path,
    db_url: str,
    smtp_plain: SmtpReceiver,
    webhook_receiver: WebhookReceiver,
) -> None:
    routes = (
        f"  - name: hook\n    schedule: instant\n    webhook: {{url: '{webhook_receiver.url()}', "
        "secret_env: TEST_WEBHOOK_SECRET}\n"
        f"  - name: mail\n    schedule: every 1h\n    email: {{host: 127.0.0.1, "
        f"port: {smtp_plain.port}, security: none, from: m@example.org, to: [d@example.org]}}\n"
    )
    extra = "alerts: {check_every: 0.2s, retry_base: 1s, retry_max: 2s}"
    sample_config(tmp_path, db_url, routes, extra, polling="parse_workers: 0, check_every: 1s")
    # Slow answers widen the window between the receiver's acceptance and our commit.
    webhook_receiver.hang(0.15, times=10_000)
    rng = random.Random(7)
    for _ in range(KILLS):
        daemon = _start(tmp_path)
        time.sleep(rng.uniform(0.3, 3.0))
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(10)
    daemon = _start(tmp_path)  # a clean run drains what is left
    try:
        webhook_receiver.wait_for(SAMPLE_STORIES, timeout=60)
        smtp_plain.wait_for(1, timeout=60)
        _wait_until_all_sent(db_url)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)

    hooks = Counter(r.headers["webhook-id"] for r in webhook_receiver.accepted())
    mails = Counter(m.message["Message-ID"] for m in smtp_plain.messages)
    repo = Repository.open(db_url)
    try:
        deliveries = repo.deliveries(limit=1000)
        articles = repo.count_articles()
    finally:
        repo.close()
    print(
        f"\n{KILLS} kills: {len(hooks)} alerts, {hooks.total() - len(hooks)} repeated; "
        f"{len(mails)} digests, {mails.total() - len(mails)} repeated"
    )
    assert articles == 18  # every served article stored once
    assert len(hooks) == SAMPLE_STORIES  # one alert per story, none lost…
    assert len(mails) == 1  # …one digest
    # …and a repeat only ever carries the id of a delivery we made.
    assert set(hooks) | set(mails) == {d.message_id for d in deliveries}
    assert {d.state for d in deliveries} == {"sent"}


def _wait_until_all_sent(db_url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        repo = Repository.open(db_url)
        try:
            states = {d.state for d in repo.deliveries(limit=1000)}
        finally:
            repo.close()
        if states == {"sent"}:
            return
        time.sleep(0.2)
    pytest.fail(f"deliveries still not sent after {timeout}s: {states}")
