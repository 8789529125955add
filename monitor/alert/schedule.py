"""When a route's digest is due: cron or interval periods in a time zone, quiet hours.

Pure: the time is passed in. A period is known by its local wall-clock end
("2026-10-25T01:30:00"), so the hour that a daylight-saving change repeats gives
one digest, not two, and the hour it skips still gives one (APScheduler's
cron trigger moves it to the first valid instant).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

INSTANT = "instant"
_EVERY = re.compile(r"\s*every\s+(\d+(?:\.\d+)?)\s*([smhd])\s*", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_QUIET = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")
# Catching up after a long stop: the periods missed make one digest, found in
# at most this many steps of a cron trigger.
_MAX_STEPS = 100_000


@dataclass(frozen=True, slots=True)
class Period:
    """The end of a digest period: ``key`` is its local wall-clock time."""

    key: str
    end: datetime  # aware
    repeat: bool = False


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time

    def holds(self, local: datetime) -> bool:
        now = local.time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end  # across midnight


@dataclass(frozen=True)
class Schedule:
    """``instant``, ``every 30m`` or a five-field cron expression, in ``zone``."""

    text: str
    zone: ZoneInfo
    every: timedelta | None = None
    cron: CronTrigger | None = None
    quiet: QuietHours | None = None

    @property
    def instant(self) -> bool:
        return self.every is None and self.cron is None

    def first_due_now(self) -> bool:
        """An interval route sends its first digest at once; a cron route waits for its time."""
        return self.cron is None

    def latest(self, after: datetime, now: datetime) -> datetime | None:
        """The last period end in (after, now], or None when no period ended."""
        if self.every is not None:
            steps = int((now - after) / self.every)
            return after + steps * self.every if steps >= 1 else None
        if self.cron is None:
            return None
        found = None
        probe = after + timedelta(seconds=1)
        for _ in range(_MAX_STEPS):
            fire = self.cron.get_next_fire_time(None, probe)
            if fire is None or fire > now:
                break
            if fire > after:
                found = fire if found is None else max(found, fire)
            # Around a change of clocks the trigger may answer a time before the
            # probe; cron counts in minutes, so stepping a minute always moves on.
            probe = max(probe, fire) + timedelta(minutes=1)
        return found

    def key(self, end: datetime) -> str:
        """A cron period by its local wall-clock time (one digest per local period);
        an interval by its UTC instant (intervals ignore changes of clocks)."""
        zone = self.zone if self.cron is not None else ZoneInfo("UTC")
        return end.astimezone(zone).replace(tzinfo=None).isoformat(timespec="seconds")

    def held(self, now: datetime) -> bool:
        """Inside quiet hours: alerts wait (they are never dropped)."""
        return self.quiet is not None and self.quiet.holds(now.astimezone(self.zone))


def parse(text: str, zone: str = "UTC", quiet: str | None = None) -> Schedule:
    """A schedule from its settings; ValueError says what was expected."""
    tz = parse_zone(zone)
    quiet_hours = parse_quiet(quiet) if quiet else None
    if text.strip().lower() == INSTANT:
        return Schedule(INSTANT, tz, quiet=quiet_hours)
    every = _EVERY.fullmatch(text)
    if every:
        seconds = float(every[1]) * _UNITS[every[2].lower()]
        if seconds < 1:
            raise ValueError("expected an interval of at least 1s")
        return Schedule(text, tz, every=timedelta(seconds=seconds), quiet=quiet_hours)
    try:
        cron = CronTrigger.from_crontab(text, timezone=tz)
    except ValueError as exc:
        raise ValueError(
            f"expected 'instant', 'every 30m' or a cron expression such as '0 8 * * 1-5' ({exc})"
        ) from exc
    return Schedule(text, tz, cron=cron, quiet=quiet_hours)


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("expected an IANA time zone such as Europe/Berlin or UTC") from exc


def parse_quiet(text: str) -> QuietHours:
    match = _QUIET.fullmatch(text)
    if (
        not match
        or int(match[1]) > 23
        or int(match[3]) > 23
        or max(int(match[2]), int(match[4])) > 59
    ):
        raise ValueError("expected quiet hours such as 22:00-07:00")
    start = time(int(match[1]), int(match[2]))
    end = time(int(match[3]), int(match[4]))
    if start == end:
        raise ValueError("expected quiet hours that start and end at different times")
    return QuietHours(start, end)


def initial_end(schedule: Schedule, now: datetime) -> datetime | None:
    """A new route's starting point: an interval's first digest is due at once."""
    return None if schedule.first_due_now() else now


def next_period(
    schedule: Schedule, last_end: datetime | None, last_key: str | None, now: datetime
) -> Period | None:
    """The period whose digest is due now, or None (not yet, instant, or quiet hours).

    Periods missed while the daemon was stopped make one digest. A period whose
    local time is not after the last one's (the hour a daylight-saving change
    repeats) comes back with ``repeat`` set: the caller records it and sends nothing.
    """
    if schedule.instant or schedule.held(now):
        return None
    if last_end is None:
        return Period(schedule.key(now), now) if schedule.first_due_now() else None
    end = schedule.latest(last_end, now)
    if end is None:
        return None
    key = schedule.key(end)
    # Local times only go back in the hour a change of clocks repeats: those periods
    # had their digests the first time round.
    return Period(key, end, repeat=last_key is not None and key <= last_key)
