"""What the HTTP surface reads from the database, and nothing more.

Protocols: the status page, the metrics and the probes depend on these reads,
not on the repository that has them (and a test can hand them anything that does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from monitor.core.alerting import DeliveryInfo, RouteState
from monitor.core.types import FeedInfo
from monitor.store.ops import OpsState


class StoryRead(Protocol):
    """A story as the status page lists it."""

    @property
    def id(self) -> int: ...

    @property
    def title(self) -> str: ...

    @property
    def articles(self) -> int: ...

    @property
    def updated(self) -> datetime: ...

    @property
    def members(self) -> Sequence[tuple[str, str, str, str | None]]:
        """(article id, title, feed, the original it copies) of each article."""
        ...


class StatusReads(Protocol):
    """The status page's reads."""

    def feeds(self) -> Sequence[FeedInfo]: ...

    def stories(self, since: datetime, limit: int) -> Sequence[StoryRead]: ...

    def matches_of(self, ids: Sequence[str]) -> Mapping[str, Sequence[Mapping[str, Any]]]: ...

    def deliveries(self, *, limit: int) -> Sequence[DeliveryInfo]: ...

    def route_states(self) -> Mapping[str, RouteState]: ...


class OpsReads(Protocol):
    """What the metrics and the readiness probe read."""

    def ping(self) -> None:
        """Raises StorageError when the database does not answer."""
        ...

    def ops_state(self) -> OpsState: ...


class WebReads(StatusReads, OpsReads, Protocol):
    """Everything the HTTP server reads."""
