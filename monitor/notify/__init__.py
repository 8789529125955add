"""The notifier seam: each channel sends a delivery's stored bytes and says how it went.

A notifier never raises for a failure of its receiver: it returns an
``Outcome``, which ``monitor.alert.retry`` turns into the next attempt, a
parked delivery, or a disabled route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from monitor.core.printable import error_line
from monitor.core.types import Outbound


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    error: str | None = None
    retry: bool = False  # worth trying again (4xx SMTP, 429/5xx HTTP, network trouble)
    retry_after: float | None = None  # seconds the receiver asked us to wait
    disable: bool = False  # the receiver said it is gone for good (HTTP 410)

    def __post_init__(self) -> None:
        # The error quotes the receiver (a reason phrase, an SMTP reply): stored and
        # shown as the delivery's last error, it must not reach a terminal raw.
        if self.error is not None:
            object.__setattr__(self, "error", error_line(self.error))

    @classmethod
    def sent(cls) -> Outcome:
        return cls(ok=True)

    @classmethod
    def again(cls, error: str, retry_after: float | None = None) -> Outcome:
        return cls(ok=False, error=error, retry=True, retry_after=retry_after)

    @classmethod
    def failed(cls, error: str) -> Outcome:
        return cls(ok=False, error=error)


class Notifier(Protocol):
    @property
    def deadline(self) -> float:
        """Seconds one send may take at most: a delivery is leased for a little longer."""
        ...

    async def send(self, delivery: Outbound) -> Outcome: ...

    async def aclose(self) -> None: ...
