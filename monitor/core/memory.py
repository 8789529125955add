"""Keep a long-running worker's memory from creeping up: fewer glibc malloc arenas,
and the free pages handed back after each stage run.

glibc gives each thread that allocates its own arena (up to 8 per core). The
stages run in the event loop's thread pool (``asyncio.to_thread``), so the near
stage's many short-lived arrays land in a different arena from one run to the
next, and each arena keeps the pages it once used. Measured on the near stage
alone, run seven times through ``asyncio.to_thread`` with 100,000 articles
stored: +50 MB of resident memory with the default, none with two arenas. In the
whole daemon (bench/workers.py) the worker that runs the near stage still peaks
near 390 MB with or without it: that growth has another cause. The same setting
as ``MALLOC_ARENA_MAX=2``, applied from inside, so ``monitor run`` needs no wrapper.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h
YOUNG_OBJECTS = 3_000  # the collector's youngest generation while a stage allocates much


class _Paused:
    """Who is inside ``fewer_collections``, and the thresholds to put back."""

    lock = threading.Lock()
    runs = 0
    thresholds = gc.get_threshold()


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """True when glibc took the limit; a no-op elsewhere, or when the user set their own."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    libc = _libc()
    try:
        return libc is not None and bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except AttributeError:  # not glibc (musl, macOS): nothing to tune
        return False


def release_free_memory() -> bool:
    """Hand the pages malloc keeps free back to the system (glibc's ``malloc_trim``).

    A near-stage run frees most of what it built, but glibc keeps the freed pages
    in its heaps (17 MB after a 20,000-article run on bench/near_memory.py), and the
    next stage starts from there. A few milliseconds; a no-op without glibc.
    """
    libc = _libc()
    try:
        return libc is not None and bool(libc.malloc_trim(0))
    except AttributeError:
        return False


@functools.cache  # finding the library runs ldconfig: once per process
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


@contextmanager
def fewer_collections(young: int = YOUNG_OBJECTS) -> Iterator[None]:
    """The collector runs when ``young`` new objects are left, not 700, while inside.

    A near-stage batch makes some 100,000 objects that live as long as the batch
    (candidates, postings, shingle sets). Every 700 of them the collector ran, and
    as they survived, the older generations filled and it went through the whole
    heap: on 2,000 articles with 100,000 indexed, 202 young, 18 middle and one full
    collection, 91 ms of 1,070. With 3,000: 33 young and 2 middle ones, 23 ms. The
    stage's garbage is hardly ever cyclic (under 1,000 objects freed by all of
    them): the peak of bench/near_memory.py grew by 1 MB (10,000 saved 10 ms more,
    for 3.5 MB). Thread-safe: the first to enter sets it, the last to leave puts
    the thresholds back.
    """
    with _Paused.lock:
        if not _Paused.runs:
            _Paused.thresholds = gc.get_threshold()
            gc.set_threshold(young, *_Paused.thresholds[1:])
        _Paused.runs += 1
    try:
        yield
    finally:
        with _Paused.lock:
            _Paused.runs -= 1
            if not _Paused.runs:
                gc.set_threshold(*_Paused.thresholds)
