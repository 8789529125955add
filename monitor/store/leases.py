"""Leases: which worker polls a feed, sends a delivery or runs a stage, for how long.

A part of the repository. Times come from the database's clock (``dbclock``),
so workers on machines whose clocks disagree still agree on who holds what. A
worker that dies simply stops renewing: its lease expires and another takes over.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from sqlalchemy import Engine, insert, or_, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from monitor.core.errors import StorageError
from monitor.store import dbclock
from monitor.store.models import LeaseRow

log = structlog.get_logger("monitor.store")


class LeaseStorage:
    engine: Engine

    def try_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Take (or renew) the lease on ``name``; False while another holder's is valid."""
        dialect = self.engine.dialect.name
        try:
            with self.engine.begin() as conn:
                taken = conn.execute(
                    update(LeaseRow)
                    .where(
                        LeaseRow.name == name,
                        or_(LeaseRow.holder == holder, LeaseRow.until < dbclock.now(dialect)),
                    )
                    .values(holder=holder, until=dbclock.later(dialect, seconds))
                )
                if taken.rowcount:
                    return True
            with self.engine.begin() as conn:
                conn.execute(
                    insert(LeaseRow).values(
                        name=name, holder=holder, until=dbclock.later(dialect, seconds)
                    )
                )
                return True
        except IntegrityError:
            return False  # another worker created it first
        except SQLAlchemyError as exc:
            raise StorageError(f"lease {name}: {exc}") from exc

    def release(self, name: str, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(LeaseRow)
                .where(LeaseRow.name == name, LeaseRow.holder == holder)
                .values(until=dbclock.later(self.engine.dialect.name, -1))  # free now
            )


@contextmanager
def held(store: LeaseStorage, name: str, holder: str, seconds: float = 60) -> Iterator[bool]:
    """Run a stage as its only worker: yields False when another holds it.

    The lease is renewed in the background while the stage runs, so a long run
    keeps it and a dead worker loses it within ``seconds``.
    """
    if not store.try_lease(name, holder, seconds):
        yield False
        return
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(seconds / 3):
            try:
                store.try_lease(name, holder, seconds)
            except StorageError as exc:  # the next renewal may get through
                log.warning("lease.renew_failed", lease=name, error=exc.message)

    renewer = threading.Thread(target=renew, name=f"lease-{name}", daemon=True)
    renewer.start()
    try:
        yield True
    finally:
        stop.set()
        renewer.join()
        store.release(name, holder)
