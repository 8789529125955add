"""Group commit: polls finished while the database was busy are saved together.

Each poll's save is still all-or-nothing for that poll; saving many in one
transaction costs one commit instead of hundreds. The database work runs on one
dedicated thread, so the event loop keeps fetching meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Executor

from monitor.core.errors import StorageError
from monitor.core.types import Entry, Feed, IngestCounts, PollUpdate, Sighting
from monitor.store import Store

Saved = tuple[IngestCounts, list[Sighting]]
MAX_GROUP = 100


class GroupWriter:
    def __init__(self, store: Store, executor: Executor) -> None:
        self.store = store
        self.executor = executor
        self._pending: list[
            tuple[tuple[Feed, PollUpdate, Sequence[Entry]], asyncio.Future[Saved]]
        ] = []
        self._draining: asyncio.Task[None] | None = None

    async def save(self, feed: Feed, update: PollUpdate, entries: Sequence[Entry]) -> Saved:
        """Raises StorageError when this poll could not be saved."""
        future: asyncio.Future[Saved] = asyncio.get_running_loop().create_future()
        self._pending.append(((feed, update, entries), future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
            polls = [poll for poll, _ in group]
            try:
                results = await loop.run_in_executor(self.executor, self.store.save_polls, polls)
            except Exception as exc:  # noqa: BLE001 (every waiter must hear of it)
                results = [StorageError(f"could not save: {exc!r}")] * len(group)
            for (_, future), result in zip(group, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
