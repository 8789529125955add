"""What the operations surface reads: counts for metrics, and a ping for readiness.

A part of the repository (``Repository`` takes these methods in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.core.clock import as_utc
from monitor.core.errors import StorageError
from monitor.store.models import ArticleRow, DeliveryRow, FeedRow, StoryRow


@dataclass(frozen=True, slots=True)
class OpsState:
    feeds_by_status: dict[str, int]
    feeds_in_error: int
    articles: int
    stories: int
    deliveries_by_state: dict[str, int]
    oldest_pending: datetime | None


class OpsStorage:
    engine: Engine
    _reader: Engine

    def ping(self) -> None:
        """Raises StorageError when the database does not answer."""
        try:
            with self._reader.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise StorageError(f"database unreachable: {exc}") from exc

    def ops_state(self) -> OpsState:
        with Session(self._reader) as conn:
            statuses = conn.execute(
                select(FeedRow.status, func.count()).where(FeedRow.active).group_by(FeedRow.status)
            ).all()
            in_error = conn.execute(
                select(func.count()).where(FeedRow.active, FeedRow.error_count > 0)
            ).scalar_one()
            articles = conn.execute(select(func.count()).select_from(ArticleRow)).scalar_one()
            stories = conn.execute(
                select(func.count()).select_from(StoryRow).where(StoryRow.articles > 1)
            ).scalar_one()
            states = conn.execute(
                select(DeliveryRow.state, func.count()).group_by(DeliveryRow.state)
            ).all()
            oldest = conn.execute(
                select(func.min(DeliveryRow.created_at)).where(DeliveryRow.state == "pending")
            ).scalar_one()
        return OpsState(
            feeds_by_status={str(s): int(n) for s, n in statuses},
            feeds_in_error=in_error,
            articles=articles,
            stories=stories,
            deliveries_by_state={str(s): int(n) for s, n in states},
            oldest_pending=as_utc(oldest) if isinstance(oldest, datetime) else _parsed(oldest),
        )


def _parsed(value: object) -> datetime | None:
    """SQLite hands an aggregate's time back as text."""
    return as_utc(datetime.fromisoformat(value)) if isinstance(value, str) else None
