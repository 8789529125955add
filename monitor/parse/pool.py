"""Parsing off the event loop, in worker processes that can be stopped.

A crafted feed can make feedparser run for a very long time (its issue #562);
a thread cannot be stopped, a process can. When a parse passes its deadline the
pool is killed and replaced; parses that were in flight on it are retried once.
With ``workers=0`` parsing runs in a thread (tests, tiny set-ups): no kill.

The workers belong to the daemon: they ignore SIGINT (a terminal's Ctrl-C reaches
the whole process group; the daemon stops them itself, without their tracebacks),
and they die with it even when it is killed outright (kill -9, the OOM killer),
which also lets multiprocessing's resource tracker end.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import datetime
from types import ModuleType

from monitor.core.errors import ParseError
from monitor.core.types import ParsedFeed
from monitor.parse.entries import Limits
from monitor.parse.feeds import parse_feed

PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_CHECK_S = 1.0


def _parse_in_worker(
    body: bytes, content_type: str | None, base_url: str, now: datetime, limits: Limits
) -> ParsedFeed:
    return parse_feed(body, content_type, base_url, now, limits)


def _worker_started(parent: int) -> None:
    """A parse worker's first act: leave Ctrl-C to the daemon, and die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a SIGINT pending since the start is dropped
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if not _kill_me_with_my_parent():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before we could ask
        os._exit(1)


def _kill_me_with_my_parent() -> bool:
    """Linux: the kernel sends SIGKILL when the parent dies (PR_SET_PDEATHSIG).

    It fires when the *thread* that started the worker ends; workers are started
    from the event loop's thread, which lives as long as the pool is used (a pool
    broken otherwise is replaced at the next parse)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    """Elsewhere: a thread that ends the worker once it is orphaned."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


@contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Workers are started with SIGINT blocked (the mask is inherited), so a Ctrl-C
    before ``_worker_started`` ignores it cannot stop one with a traceback."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


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
            with _bare_main(), _sigint_blocked():
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
                self._executor = ProcessPoolExecutor(
                    self.workers,
                    mp_context=context,
                    initializer=_worker_started,
                    initargs=(os.getpid(),),
                )
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
