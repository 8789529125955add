"""When to poll a feed next: a pure decision from what the last poll said.

No I/O and no clock of its own: ``now`` and the random source are passed in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.core.types import Feed, FetchResult, PollUpdate

THROTTLED = {429, 503}


@dataclass(frozen=True)
class Cadence:
    interval_s: float = 900
    min_interval_s: float = 60
    max_interval_s: float = 86_400


def next_poll(
    feed: Feed,
    result: FetchResult,
    now: datetime,
    cadence: Cadence,
    rng: random.Random,
    ttl_s: float | None = None,
    error: str | None = None,
) -> PollUpdate:
    """The feed's new state. ``error`` overrides a fetch that succeeded but could not be used."""
    failed = result.status == "error" or error is not None
    etag, last_modified = _validators(feed, result, failed)
    base = PollUpdate(
        feed_id=feed.id,
        status=_status(result, error),
        polled_at=now,
        next_poll_at=None,
        http_status=result.http_status,
        error=error or result.error,
        error_count=feed.error_count + 1 if failed else 0,
        etag=etag,
        last_modified=last_modified,
        # A redirect to something that failed is no reason to forget the old URL.
        new_url=None if failed else result.moved_to,
    )
    if result.status == "gone":
        return replace(base, active=False, next_poll_at=None, etag=None, last_modified=None)
    wait = _backoff(feed, cadence, rng) if failed else _healthy_wait(feed, result, cadence, ttl_s)
    if result.retry_after_s is not None and (failed or result.http_status in THROTTLED):
        wait = max(wait, result.retry_after_s)
    wait = min(max(wait, cadence.min_interval_s if not failed else 0), cadence.max_interval_s)
    return replace(base, next_poll_at=now + timedelta(seconds=wait))


def _validators(feed: Feed, result: FetchResult, failed: bool) -> tuple[str | None, str | None]:
    """The ETag and Last-Modified to send on the next poll."""
    if failed:
        return feed.etag, feed.last_modified
    if result.status == "not_modified":
        # Many 304s do not repeat them; the ones we sent are still the current ones.
        return result.etag or feed.etag, result.last_modified or feed.last_modified
    return result.etag, result.last_modified


def _status(result: FetchResult, error: str | None) -> str:
    if error is not None:
        return "parse_error"
    if result.status == "error":
        return result.error_kind or "error"
    if result.moved_to and result.status == "ok":
        return "moved"
    return result.status


def _healthy_wait(feed: Feed, result: FetchResult, cadence: Cadence, ttl_s: float | None) -> float:
    hints = [feed.interval_s or cadence.interval_s, ttl_s or 0.0, result.max_age_s or 0.0]
    return max(hints)


def _backoff(feed: Feed, cadence: Cadence, rng: random.Random) -> float:
    """Exponential from one minute, full jitter on the upper half so workers spread out."""
    ceiling = min(cadence.max_interval_s, 60.0 * 2 ** min(feed.error_count, 16))
    return rng.uniform(ceiling / 2, ceiling)
