"""A worker's memory and its collector (monitor.core.memory)."""

from __future__ import annotations

import gc
import platform
import subprocess
import sys
import threading

import pytest

from monitor.core.memory import YOUNG_OBJECTS, fewer_collections, limit_malloc_arenas

_GLIBC = platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not _GLIBC, reason="the limit is glibc's")
def test_a_worker_limits_its_arenas_on_glibc() -> None:
    code = "from monitor.core.memory import limit_malloc_arenas as f; print(f())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_a_users_own_setting_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert limit_malloc_arenas() is False


_TRIM = """
import gc, os
from monitor.core.memory import release_free_memory

def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

kept = [bytes(2000) for _ in range(50_000)]  # glibc's heap (above pymalloc's 512 B)
anchor = bytes(2000)  # allocated last: the heap's top cannot shrink past it by itself
del kept
gc.collect()
before = rss()
released = release_free_memory()
print(released, (before - rss()) // 2**20)
"""


@pytest.mark.skipif(not _GLIBC, reason="malloc_trim is glibc's")
def test_freed_memory_goes_back_to_the_system_after_a_stage_run() -> None:
    out = subprocess.run([sys.executable, "-c", _TRIM], capture_output=True, text=True, check=True)
    released, mb = out.stdout.split()
    assert released == "True"
    assert int(mb) >= 50  # of the ~100 MB freed


def test_the_collector_runs_less_often_inside_and_as_before_once_everyone_left() -> None:
    before = gc.get_threshold()
    entered, leave = threading.Event(), threading.Event()

    def other_stage() -> None:
        with fewer_collections(5_000):
            entered.set()
            leave.wait()

    thread = threading.Thread(target=other_stage)
    thread.start()
    entered.wait()
    assert gc.get_threshold()[0] == 5_000
    with fewer_collections():
        assert gc.get_threshold() == (5_000, *before[1:])  # the first one's setting holds
    assert gc.get_threshold()[0] == 5_000  # the other stage is still inside
    leave.set()
    thread.join()
    assert gc.get_threshold() == before


def test_a_failing_stage_puts_the_collector_back() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold()[0] == YOUNG_OBJECTS
        raise RuntimeError("the stage failed")
    assert gc.get_threshold() == before
