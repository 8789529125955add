"""When to try a failed delivery again: exponential back-off with jitter, Retry-After honoured.

Pure: the outcome, the attempts so far, the time and the random source come in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.notify import Outcome

_LONGEST_WAIT = 86400.0  # a Retry-After of a week is read as a day


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base: float = 30.0
    cap: float = 3600.0
    max_attempts: int = 12


def next_attempt(
    outcome: Outcome, attempts: int, now: datetime, policy: RetryPolicy, rng: random.Random
) -> datetime | None:
    """The time of the next attempt, or None: park it (``attempts`` counts this one)."""
    if not outcome.retry or attempts >= policy.max_attempts:
        return None
    delay = min(policy.cap, policy.base * 2 ** (attempts - 1))
    # Jitter of ±50 %, so deliveries that failed together do not all come back
    # together.
    delay *= rng.uniform(0.5, 1.5)
    if outcome.retry_after is not None:
        delay = max(delay, min(outcome.retry_after, _LONGEST_WAIT))
    return now + timedelta(seconds=delay)
