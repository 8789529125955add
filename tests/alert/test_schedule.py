"""Digest periods in the user's time zone: one per local period, DST or not; quiet hours hold."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from monitor import config
from monitor.alert.schedule import initial_end, next_period, parse
from monitor.core.errors import ConfigError


def periods(
    expr: str, zone: str, start: datetime, days: int, quiet: str | None = None
) -> list[tuple[str, datetime]]:
    """Drive the schedule as the daemon does: a check every five minutes for ``days``."""
    schedule = parse(expr, zone, quiet)
    last_end, last_key = initial_end(schedule, start), None
    sent: list[tuple[str, datetime]] = []
    now = start
    while now < start + timedelta(days=days):
        now += timedelta(minutes=5)
        period = next_period(schedule, last_end, last_key, now)
        if period is None:
            continue
        if not period.repeat:
            sent.append((period.key, now))
        last_end, last_key = period.end, period.key
    return sent


@pytest.mark.parametrize(
    ("zone", "spring", "autumn"),
    [
        ("Europe/London", datetime(2026, 3, 25, tzinfo=UTC), datetime(2026, 10, 21, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 10, 29, tzinfo=UTC)),
    ],
)
@pytest.mark.parametrize("expr", ["0 8 * * *", "30 1 * * *", "30 2 * * *", "*/20 1 * * *"])
def test_a_daily_cron_digest_comes_once_per_local_day_across_both_dst_changes(
    zone: str, spring: datetime, autumn: datetime, expr: str
) -> None:
    for start in (spring, autumn):
        sent = periods(expr, zone, start, days=8)
        keys = [key for key, _ in sent]
        days = Counter(key[:10] for key in keys)
        assert len(days) >= 7, sent  # none skipped, even when the local time does not exist
        assert len(set(keys)) == len(keys), sent  # none doubled, even when it happens twice
        if not expr.startswith("*/"):
            assert set(days.values()) == {1}, sent  # a daily digest: one per local day


def test_an_interval_route_sends_at_once_then_at_most_once_per_interval() -> None:
    start = datetime(2026, 1, 1, 9, 2, tzinfo=UTC)
    sent = periods("every 1h", "UTC", start, days=1)
    assert sent[0][1] == start + timedelta(minutes=5)
    gaps = {b - a for (_, a), (_, b) in pairwise(sent)}
    assert gaps == {timedelta(hours=1)}


def test_quiet_hours_hold_the_digest_until_they_end_and_never_drop_it() -> None:
    start = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # noon in Berlin is 13:00
    sent = periods("0 23 * * *", "Europe/Berlin", start, days=3, quiet="22:00-07:00")
    assert len(sent) == 3
    for _, at in sent:
        local = at.astimezone(parse("instant", "Europe/Berlin").zone)
        assert (local.hour, local.minute) == (7, 0)  # the first check after quiet hours


def test_a_bad_schedule_names_the_file_line_and_what_was_expected(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        "routes:\n  - name: desk\n    file: {dir: out}\n    schedule: every fortnight\n"
        "    timezone: Europe/Berln\n"
    )
    with pytest.raises(ConfigError) as error:
        config.load(path, env={})
    message = error.value.message
    assert f"{path}:4:" in message and "cron expression" in message
    assert f"{path}:5:" in message and "IANA time zone" in message


def test_a_route_needs_exactly_one_channel(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text("routes:\n  - name: desk\n    schedule: instant\n")
    with pytest.raises(ConfigError, match="exactly one channel"):
        config.load(path, env={})


def test_credentials_are_never_sent_in_clear(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        "routes:\n  - name: desk\n    email: {host: smtp.example.org, security: none,\n"
        "      from: m@example.org, to: [d@example.org], password_env: SMTP_PASSWORD}\n"
    )
    with pytest.raises(ConfigError, match="send them in clear"):
        config.load(path, env={})
