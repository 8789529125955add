"""What a polling cycle produces, and the measured run shared by contenders."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psutil

from bench.measure import Measured, run_measured
from bench.server import FeedServer, delta
from bench.ui import Progress

CYCLES = ("cold", "304")


class ContenderError(RuntimeError):
    """A contender could not run (missing, crashed, timed out, bad output)."""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class CycleResult:
    wall_s: float  # the poll cycle only, as timed by the contender itself
    cpu_s: float  # the poll cycle only (self + children), as reported by the contender
    peak_rss_mb: float  # sampled by the bench over the contender's process tree
    peak_pss_mb: float  # the same with PSS (shared pages split), every 100 ms
    proc_wall_s: float  # whole subprocess, start-up included
    proc_cpu_s: float
    other_cpu_s: float  # user CPU used meanwhile by processes outside the bench (noise)
    server: dict[str, int]  # what the feed server saw during the cycle
    reported: dict[str, Any]
    checks: list[Check] = field(default_factory=list)


def run_untimed(what: str, cmd: Sequence[str], env: dict[str, str], timeout: float) -> None:
    """A contender's setup step (adding the feeds): not measured, only required to work."""
    done = subprocess.run(
        list(cmd), capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise ContenderError(f"{what} failed: {done.stderr.strip()[-2000:]}")


def expect(checks: list[Check], name: str, got: object, want: object) -> None:
    checks.append(Check(name, got == want, f"{got} (want {want})"))


def server_checks(cycle: str, seen: dict[str, int], feeds: int) -> list[Check]:
    checks: list[Check] = []
    expect(checks, "server: feed requests", seen["feed_requests"], feeds)
    if cycle == "cold":
        expect(checks, "server: 200 responses", seen["ok"], feeds)
    else:
        expect(checks, "server: 304 responses", seen["not_modified"], feeds)
    return checks


def run_cycle(
    label: str,
    cycle: str,
    cmd: Sequence[str],
    *,
    server: FeedServer,
    progress: Progress,
    timeout: float,
    env: dict[str, str],
    read_report: Callable[[Measured], dict[str, Any]],
) -> CycleResult:
    """Run one cycle of one contender; ``read_report`` returns its own figures."""
    progress.step(f"{label}: {cycle} cycle")
    before = server.stats()

    def tick(elapsed: float) -> None:
        seen = server.stats()["feed_requests"] - before["feed_requests"]
        progress.update(f"{seen}/{server.feeds} requests, {elapsed:.0f} s")

    busy0, ours0 = _system_user(), _bench_user(server)
    measured = run_measured(cmd, env=env, timeout=timeout, tick=tick)
    other = _system_user() - busy0 - (_bench_user(server) - ours0) - measured.proc_user_s
    seen = delta(server.stats(), before)
    if measured.timed_out:
        raise ContenderError(f"{label} {cycle} cycle timed out after {timeout:g} s")
    if measured.returncode != 0:
        tail = measured.stderr.strip()[-2000:]
        raise ContenderError(f"{label} {cycle} cycle exited {measured.returncode}: {tail}")
    try:
        reported = read_report(measured)
        wall, cpu = float(reported["wall_s"]), float(reported["cpu_s"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ContenderError(f"{label} {cycle} cycle: unusable report: {exc!r}") from exc
    result = CycleResult(
        wall_s=wall,
        cpu_s=cpu,
        peak_rss_mb=measured.peak_rss_mb,
        peak_pss_mb=measured.peak_pss_mb,
        proc_wall_s=measured.proc_wall_s,
        proc_cpu_s=measured.proc_cpu_s,
        other_cpu_s=max(0.0, other),
        server=seen,
        reported=reported,
        checks=server_checks(cycle, seen, server.feeds),
    )
    progress.done(
        f"{label} {cycle}: wall {wall:.2f} s, CPU {cpu:.2f} s, "
        f"peak {measured.peak_rss_mb:.0f} MB, {seen['feed_requests']} requests "
        f"({seen['ok']} × 200, {seen['not_modified']} × 304)"
    )
    return result


def _system_user() -> float:
    """User-space CPU of the whole machine (kernel time is left out: disk flushes
    and network work done by kernel threads on the contender's behalf land there)."""
    t = psutil.cpu_times()
    return float(t.user + t.nice)


def _bench_user(server: FeedServer) -> float:
    """User CPU of the bench itself (all threads) and of the feed server."""
    total = 0.0
    for pid in (os.getpid(), server.pid):
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(pid).cpu_times().user
    return total


def last_json_line(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            data: dict[str, Any] = json.loads(line)
            return data
    raise ValueError("no JSON object on stdout")
