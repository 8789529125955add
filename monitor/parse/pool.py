"""Parsing off the event loop, in worker processes that can be stopped.

A crafted feed can make feedparser run for a very long time (its issue #562);
a thread cannot be stopped, a process can. When a parse passes its deadline the
pool is killed and replaced; parses that were in flight on it are retried once.
With ``workers=0`` parsing runs in a thread (tests, tiny set-ups): no kill.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import datetime
from types import ModuleType

from monitor.errors import ParseError
from monitor.parse.entries import Limits
from monitor.parse.feeds import parse_feed
from monitor.types import ParsedFeed


def _parse_in_worker(
    body: bytes, content_type: str | None, base_url: str, now: datetime, limits: Limits
) -> ParsedFeed:
    return parse_feed(body, content_type, base_url, now, limits)


@contextmanager
def _bare_main() -> Iterator[None]:
    """Hide ``__main__`` while workers may start: a spawned child re-imports the
    parent's main module, which for the ``monitor`` command is the whole program
    (SQLAlchemy, aiohttp, rich...): tens of megabytes per worker, for nothing."""
    real = sys.modules["__main__"]
    sys.modules["__main__"] = ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = real


class ParsePool:
    def __init__(self, workers: int, timeout_s: float, limits: Limits) -> None:
        self.workers = workers
        self.timeout_s = timeout_s
        self.limits = limits
        self._executor: Executor | None = None
        self._capacity = workers or 2  # processes, or threads when workers=0
        self._slots: asyncio.Semaphore | None = None
        self._slots_loop: asyncio.AbstractEventLoop | None = None

    async def parse(
        self, body: bytes, content_type: str | None, base_url: str, now: datetime
    ) -> ParsedFeed:
        # The deadline is for the parse itself: a parse queued behind a hostile one
        # used to pass its own deadline while waiting, and was blamed for it ("still
        # parsing") and killed the pool again. Only as many parses as there are
        # workers are handed over, so each one's clock starts on a worker.
        async with self._worker_slots():
            return await self._parse(body, content_type, base_url, now)

    def _worker_slots(self) -> asyncio.Semaphore:
        # A semaphore belongs to one event loop; the pool outlives loops (one per cycle in tests).
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots_loop is not loop:
            self._slots, self._slots_loop = asyncio.Semaphore(self._capacity), loop
        return self._slots

    async def _parse(
        self, body: bytes, content_type: str | None, base_url: str, now: datetime
    ) -> ParsedFeed:
        for attempt in (1, 2):
            executor = self._current()
            with _bare_main():
                future = asyncio.get_running_loop().run_in_executor(
                    executor, _parse_in_worker, body, content_type, base_url, now, self.limits
                )
            try:
                return await asyncio.wait_for(future, self.timeout_s)
            except TimeoutError:
                self._kill(executor)
                raise ParseError(
                    f"parse error: still parsing after {self.timeout_s:g} s, stopped"
                ) from None
            except BrokenProcessPool:
                self._replace(executor)
                if attempt == 2:
                    raise ParseError("parse error: the parser process died") from None
        raise AssertionError("unreachable")

    def _current(self) -> Executor:
        if self._executor is None:
            if self.workers == 0:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._capacity, thread_name_prefix="parse"
                )
            else:
                # spawn: no fork of a process that runs threads and an event loop,
                # and the workers are our children, so their CPU time is ours.
                context = multiprocessing.get_context("spawn")
                self._executor = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._executor

    def _kill(self, executor: Executor) -> None:
        if isinstance(executor, ProcessPoolExecutor):
            # None once the executor was shut down: a second parse that timed out on
            # the same pool raised AttributeError here, and its feed went unrecorded.
            for process in list((getattr(executor, "_processes", None) or {}).values()):
                process.kill()
        self._replace(executor)

    def _replace(self, executor: Executor) -> None:
        if self._executor is executor:
            self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
