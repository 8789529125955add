"""What the alert stage needs of storage: routes, their matches, digests and the outbox.

A Protocol, so that the stage depends on these methods and not on the
repository that has them (``monitor.store``'s ``AlertStorage``), and a test can
hand it anything that does. The values are ``monitor.core.alerting``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal, Protocol

from monitor.core.alerting import (
    Candidate,
    NewDigest,
    RouteState,
    Selection,
    Settlement,
    Source,
)
from monitor.core.types import Outbound


class AlertStore(Protocol):
    # Building -------------------------------------------------------------------

    def sync_route(
        self, name: str, selector: str, initial_end: datetime | None, start: datetime
    ) -> RouteState: ...

    def route_states(self) -> Mapping[str, RouteState]: ...

    def alert_candidates(self, selection: Selection) -> list[Candidate]: ...

    def still_arriving(self, before: datetime, near: bool) -> bool: ...

    def advance_since(self, route: str, since: datetime) -> None: ...

    def count_digests(self, route: str, kinds: Sequence[str], since: datetime) -> int: ...

    def sent_rules(self, route: str, keys: Sequence[str]) -> Mapping[str, set[tuple[str, str]]]: ...

    def story_sources(self, keys: Sequence[str]) -> Mapping[str, Sequence[Source]]: ...

    def save_digest(self, new: NewDigest, end: datetime | None, now: datetime) -> int | None: ...

    def settle_only(
        self, route: str, settlement: Settlement, end: datetime | None, key: str
    ) -> None: ...

    # Delivering -----------------------------------------------------------------

    def claim_deliveries(
        self, route: str, now: datetime, lease: timedelta
    ) -> Sequence[Outbound]: ...

    def delivery_done(
        self,
        delivery_id: int,
        now: datetime,
        state: Literal["sent", "pending", "parked"],
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None: ...

    def disable_route(self, route: str, reason: str, now: datetime) -> None: ...
