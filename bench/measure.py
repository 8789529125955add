"""Run one contender step in a subprocess while sampling its memory.

Peak memory is measured the same way for every contender: the sum of RSS over
the child's whole process tree (the child and all its descendants), sampled
every 20 ms by a thread of the bench.  The tree is re-listed every 10th sample
(children(recursive=True) walks all of /proc) so the sampler stays cheap.

Summed RSS counts pages shared between processes (a forked worker pool) once
per process, so the peak summed PSS, which splits shared pages between their
sharers, is reported beside it (sampled every 100 ms).

The bench makes itself a child subreaper (Linux), so a descendant orphaned by
its parent (a multiprocessing fork server, say) is adopted by the bench rather
than by init: it stays in the sampled tree, and once the step ends the bench
waits for it and so counts its CPU time in RUSAGE_CHILDREN.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psutil

SAMPLE_S = 0.020
RELIST_EVERY = 10
PSS_EVERY = 5  # PSS reads /proc/PID/smaps_rollup (~0.25 ms a process): every 100 ms
ORPHAN_GRACE_S = 10.0
MB = 1024 * 1024
PR_SET_CHILD_SUBREAPER = 36


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    proc_wall_s: float  # the whole subprocess, interpreter start-up included
    proc_cpu_s: float  # user + system of the subprocess and all its descendants
    proc_user_s: float  # the user part of it
    peak_rss_mb: float  # peak of the summed RSS of the process tree
    peak_pss_mb: float  # peak of the summed PSS (shared pages split between sharers)
    timed_out: bool


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux prctl); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _adopted(known: set[int]) -> list[psutil.Process]:
    """Direct children of the bench that it did not start itself (adopted orphans)."""
    with contextlib.suppress(psutil.Error):
        return [p for p in psutil.Process().children() if p.pid not in known]
    return []


class TreeSampler(threading.Thread):
    def __init__(self, pid: int, known: set[int]) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.known = known | {pid}
        self.peak = 0
        self.peak_pss = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def _tree(self) -> list[psutil.Process]:
        procs: list[psutil.Process] = []
        for top in [self.root, *_adopted(self.known)]:
            with contextlib.suppress(psutil.Error):
                procs += [top, *top.children(recursive=True)]
        return procs

    def run(self) -> None:
        procs: list[psutil.Process] = [self.root]
        while not self._stop_event.is_set():
            if self.samples % RELIST_EVERY == 0:
                procs = self._tree()
            total = pss = 0
            full = self.samples % PSS_EVERY == 0
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    if full:
                        info = proc.memory_full_info()
                        total, pss = total + info.rss, pss + info.pss
                    else:
                        total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            self.peak_pss = max(self.peak_pss, pss)
            self.samples += 1
            self._stop_event.wait(SAMPLE_S)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _children_cpu() -> tuple[float, float]:
    """(user + system, user) of the bench's reaped descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_utime


def _reap_adopted(known: set[int], grace: float) -> None:
    """Wait for adopted orphans to exit (so their CPU is counted); kill stragglers."""
    orphans = _adopted(known)
    if not orphans:
        return
    _, alive = psutil.wait_procs(orphans, timeout=grace)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=grace)


def run_measured(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    timeout: float,
    tick: Callable[[float], None] | None = None,
) -> Measured:
    """Run ``cmd`` to completion (or ``timeout``), sampling its memory.

    ``tick(elapsed)`` is called about twice a second while it runs (progress).
    """
    known = {p.pid for p in psutil.Process().children()}
    (cpu0, user0), t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.Popen(
        list(cmd),
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so a timeout kills the tree
    )
    sampler = TreeSampler(proc.pid, known)
    sampler.start()
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=lambda: out.append(proc.stdout.read() if proc.stdout else "")),
        threading.Thread(target=lambda: err.append(proc.stderr.read() if proc.stderr else "")),
    ]
    for thread in readers:
        thread.start()
    timed_out = False
    try:
        while proc.poll() is None:
            elapsed = time.perf_counter() - t0
            if elapsed > timeout:
                timed_out = True
                break
            if tick is not None:
                tick(elapsed)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(0.5)
    finally:  # timeout, Ctrl-C or a failing tick: end the step's whole process group
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    wall = time.perf_counter() - t0
    _reap_adopted(known | {proc.pid}, 0.0 if timed_out else ORPHAN_GRACE_S)
    sampler.stop()
    for thread in readers:
        thread.join()
    cpu1, user1 = _children_cpu()
    return Measured(
        returncode=proc.returncode,
        stdout="".join(out),
        stderr="".join(err),
        proc_wall_s=wall,
        proc_cpu_s=cpu1 - cpu0,
        proc_user_s=user1 - user0,
        peak_rss_mb=sampler.peak / MB,
        peak_pss_mb=sampler.peak_pss / MB,
        timed_out=timed_out,
    )
