"""The one clock seam: everything that needs the time asks a Clock."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, UTC-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes read back from SQLite are UTC by construction."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait, from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (as_utc(when) - now).total_seconds())  # HTTP dates are GMT


def when(value: datetime | None, now: datetime) -> str:
    """A time for people, relative to ``now``: "in 15m", "3h ago"."""
    if value is None:
        return "-"
    seconds = (value - now).total_seconds()
    span = abs(seconds)
    text = (
        f"{span:.0f}s"
        if span < 90
        else f"{span / 60:.0f}m"
        if span < 5400
        else f"{span / 3600:.1f}h"
        if span < 172800
        else f"{span / 86400:.0f}d"
    )
    return f"in {text}" if seconds > 0 else f"{text} ago"
