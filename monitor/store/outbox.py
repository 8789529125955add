"""The delivery outbox: deliveries claimed, sent, retried, parked, or held with their route.

A part of the repository (``AlertStorage`` takes these methods in). A delivery
is leased while it is sent, not locked: a worker that dies loses its lease when
it expires, and another sends it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.core.alerting import DeliveryInfo
from monitor.core.errors import StorageError
from monitor.core.types import Outbound
from monitor.store import dbclock
from monitor.store.models import DeliveryRow, DigestRow, RouteRow


class OutboxStorage:
    engine: Engine
    _reader: Engine

    def claim_deliveries(
        self, route: str, now: datetime, lease: timedelta, limit: int = 1
    ) -> list[Outbound]:
        """The route's due deliveries, oldest first, leased to this worker.

        No lock is held while sending: the lease keeps other workers off, and a
        worker that dies loses its lease when it expires.
        """
        dialect = self.engine.dialect.name
        free = dbclock.expired(DeliveryRow.lease_until, dialect)
        due = (
            select(DeliveryRow.id)
            .where(
                DeliveryRow.route == route,
                DeliveryRow.state == "pending",
                DeliveryRow.next_attempt_at <= now,
                free,
            )
            .order_by(DeliveryRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = []
        try:
            with Session(self.engine) as conn, conn.begin():
                for (delivery_id,) in conn.execute(due).all():
                    taken = conn.execute(
                        update(DeliveryRow)
                        .where(DeliveryRow.id == delivery_id, free)
                        .values(lease_until=dbclock.later(dialect, lease.total_seconds()))
                    )
                    if taken.rowcount:  # type: ignore[attr-defined]
                        claimed.append(delivery_id)
                rows = conn.execute(select(DeliveryRow).where(DeliveryRow.id.in_(claimed)))
                return [_outbound(row) for row in rows.scalars()]
        except SQLAlchemyError as exc:
            raise StorageError(f"could not claim deliveries: {exc}") from exc

    def delivery_done(
        self,
        delivery_id: int,
        now: datetime,
        state: Literal["sent", "pending", "parked"],
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """An attempt's outcome: sent (``error`` may hold a warning), pending until
        ``retry_at``, or parked for a person."""
        values: dict[str, Any] = {
            "attempts": DeliveryRow.attempts + 1,
            "lease_until": None,
            "last_error": error,
            "state": state,
        }
        if state == "sent":
            values.update(sent_at=now)
        elif state == "pending" and retry_at is not None:
            values.update(next_attempt_at=retry_at)
        with self.engine.begin() as conn:
            conn.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(values))

    def disable_route(self, route: str, reason: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(RouteRow)
                .where(RouteRow.name == route)
                .values(disabled_at=now, disabled_reason=reason)
            )
            # The route's other deliveries wait with it ("held"), and go when it is enabled.
            conn.execute(
                update(DeliveryRow)
                .where(DeliveryRow.route == route, DeliveryRow.state == "pending")
                .values(state="held")
            )

    def retry_delivery(self, delivery_id: int, now: datetime) -> DeliveryInfo | None:
        """A parked delivery sent again at once, with fresh attempts; its route enabled
        again, with the deliveries it held. None when there is no such delivery waiting,
        or one being sent right now (its lease is running)."""
        dialect = self.engine.dialect.name
        with Session(self.engine) as conn, conn.begin():
            row = conn.get(DeliveryRow, delivery_id)
            if row is None or row.state == "sent":
                return None
            taken = conn.execute(
                update(DeliveryRow)
                .where(
                    DeliveryRow.id == delivery_id,
                    dbclock.expired(DeliveryRow.lease_until, dialect),
                )
                .values(state="pending", next_attempt_at=now, attempts=0, lease_until=None)
            )
            if not taken.rowcount:  # type: ignore[attr-defined]
                return None
            conn.execute(
                update(RouteRow)
                .where(RouteRow.name == row.route)
                .values(disabled_at=None, disabled_reason=None)
            )
            conn.execute(
                update(DeliveryRow)
                .where(DeliveryRow.route == row.route, DeliveryRow.state == "held")
                .values(state="pending", next_attempt_at=now)
            )
        return self.delivery(delivery_id)

    def delivery(self, delivery_id: int) -> DeliveryInfo | None:
        found = self.deliveries(ids=[delivery_id])
        return found[0] if found else None

    def deliveries(
        self, state: str | None = None, limit: int = 50, ids: Sequence[int] = ()
    ) -> list[DeliveryInfo]:
        query = (
            select(DeliveryRow, DigestRow.subject)
            .join(DigestRow, DigestRow.id == DeliveryRow.digest_id)
            .order_by(DeliveryRow.id.desc())
            .limit(limit)
        )
        if state:
            query = query.where(DeliveryRow.state == state)
        if ids:
            query = query.where(DeliveryRow.id.in_(list(ids)))
        with Session(self._reader) as conn:
            return [_delivery_info(row, subject) for row, subject in conn.execute(query)]


def _outbound(row: DeliveryRow) -> Outbound:
    return Outbound(
        row.id, row.digest_id, row.route, row.channel, row.message_id, row.payload, row.attempts
    )


def _delivery_info(row: DeliveryRow, subject: str) -> DeliveryInfo:
    return DeliveryInfo(
        id=row.id,
        digest_id=row.digest_id,
        route=row.route,
        channel=row.channel,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        subject=subject,
        message_id=row.message_id,
    )
