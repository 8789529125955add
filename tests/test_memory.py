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
