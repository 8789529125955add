"""The malloc arena limit a worker sets on itself (monitor.memory)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from monitor.memory import limit_malloc_arenas

_GLIBC = platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not _GLIBC, reason="the limit is glibc's")
def test_a_worker_limits_its_arenas_on_glibc() -> None:
    code = "from monitor.memory import limit_malloc_arenas as f; print(f())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_a_users_own_setting_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert limit_malloc_arenas() is False


_TRIM = """
import gc, os
from monitor.memory import release_free_memory

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
