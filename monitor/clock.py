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
