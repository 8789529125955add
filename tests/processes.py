"""`monitor` run as a user runs it: a process of its own, in a directory of the test's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

# Where a child's output goes: a pipe, nowhere, or an open file.
Output = int | IO[Any] | None


def user_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the MONITOR_ variables of ours (the tests'
    runner may set some), and with ``extra``: only the settings the test means."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return clean | dict(extra or {})


def start_monitor(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    stdout: Output = subprocess.DEVNULL,
    stderr: Output = subprocess.DEVNULL,
    text: bool = False,
    new_session: bool = False,
) -> subprocess.Popen[Any]:
    """``monitor ARGS`` in ``cwd``, with the user's environment plus ``env``.

    ``new_session``: a process group of its own, as a shell starts a command (so a
    signal to the group reaches its workers too)."""
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=user_environment(env),
        stdout=stdout,
        stderr=stderr,
        text=text,
        start_new_session=new_session,
    )


def stop(
    process: subprocess.Popen[Any], sig: signal.Signals = signal.SIGTERM, timeout: float = 30
) -> subprocess.CompletedProcess[Any]:
    """Send ``sig`` (if it still runs) and wait for the end and the output it piped.

    One that does not end within ``timeout`` seconds is killed (no test leaves a
    process behind): its return code then tells so (-9), and a test asking for 0 fails."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate(timeout=10)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)
