"""The one place that reads and writes the database: every part of the store, composed.

    feeds     the feeds followed, and claiming the due ones   (monitor.store.feeds)
    polls     a poll's entries and feed state, one transaction (monitor.store.polls)
    articles  exporting, counting and deleting articles       (monitor.store.articles)
    matches, near, alerts, leases, ops: what each later stage stores

Saving entries needs the exact-copy rules (``monitor.core.exact.ExactRules``):
the store is given them, from ``monitor.dedup``, as it never decides what an
entry is itself. A repository that only reads, or saves polls without entries,
does without.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from monitor.core.errors import StorageError
from monitor.core.exact import ExactRules
from monitor.store import schema
from monitor.store.alerts import AlertStorage
from monitor.store.articles import ArticleStorage
from monitor.store.engine import close_engine, make_engine
from monitor.store.feeds import FeedStorage
from monitor.store.leases import LeaseStorage
from monitor.store.matches import MatchStorage
from monitor.store.near import NearStorage
from monitor.store.ops import OpsStorage
from monitor.store.polls import PollStorage


class Repository(
    FeedStorage,
    PollStorage,
    ArticleStorage,
    MatchStorage,
    NearStorage,
    AlertStorage,
    LeaseStorage,
    OpsStorage,
):
    def __init__(self, engine: Engine, exact: ExactRules | None = None) -> None:
        self.engine = engine
        self._reader = engine.execution_options(readonly=True)
        self.exact = exact

    @classmethod
    def open(cls, url: str, exact: ExactRules | None = None) -> Repository:
        """The database at ``url``, migrated; ``exact``: the rules to save entries with."""
        engine = make_engine(url)
        try:
            schema.upgrade(engine)
        except OperationalError as exc:
            close_engine(engine)
            raise StorageError(f"cannot open the database {engine.url!r}: {exc.orig}") from exc
        except BaseException:
            close_engine(engine)
            raise
        return cls(engine, exact)

    def close(self) -> None:
        close_engine(self.engine)
