"""Our contender: the ``monitor`` CLI, driven in subprocesses.

Contract (see bench/README.md):
  env  MONITOR_DATABASE_URL=sqlite:////abs/path/monitor.db
       MONITOR_NETWORK_ALLOW_PRIVATE=true   (the feeds are on 127.0.0.1)
  monitor --config CFG feeds import FEEDS.opml                 (once, untimed)
  monitor --config CFG run --once --all --stats-json OUT.json  (cold, then 304)
OUT.json: {"wall_s", "cpu_s", "feeds_polled", "new_articles", "not_modified", "errors"}.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

from bench.cycles import CYCLES, ContenderError, CycleResult, expect, run_cycle, run_untimed
from bench.measure import Measured
from bench.server import FeedServer
from bench.ui import Progress

REQUIRED = {
    "wall_s": float,
    "cpu_s": float,
    "feeds_polled": int,
    "new_articles": int,
    "not_modified": int,
    "errors": int,
}


def find_monitor() -> str | None:
    beside = Path(sys.executable).parent / "monitor"
    return str(beside) if beside.exists() else shutil.which("monitor")


class MonitorContender:
    name = "monitor"

    def __init__(self, timeout: float, command: str | None = None) -> None:
        self.timeout = timeout
        self.command = command or find_monitor()
        self.info: dict[str, str] = {}

    def prepare(self, progress: Progress) -> None:
        progress.step("monitor: locating its CLI")
        if self.command is None or not Path(self.command).exists():
            raise ContenderError("monitor CLI not found (install the package, or --monitor-cmd)")
        self.info = describe(self.command)
        progress.done(f"monitor {self.info.get('version', '?')} at {self.command}")

    def run(self, server: FeedServer, workdir: Path, progress: Progress) -> dict[str, CycleResult]:
        assert self.command is not None
        config = workdir / "monitor.yaml"
        # Polling is what is compared with reader (fetch, parse, store): the
        # near-duplicate stage, which reader has no counterpart of, is off; it
        # has its own benchmark (bench/neardup.py), as matching has.
        config.write_text("duplicates:\n  enabled: false\nfeeds: []\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        env |= {
            "MONITOR_DATABASE_URL": f"sqlite:///{workdir / 'monitor.db'}",
            "MONITOR_NETWORK_ALLOW_PRIVATE": "true",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        base = [self.command, "--config", str(config)]
        progress.step(f"monitor: importing {server.feeds} feeds from OPML (untimed)")
        import_feeds = [*base, "feeds", "import", str(server.opml_path)]
        run_untimed("monitor feeds import", import_feeds, env, self.timeout)
        results: dict[str, CycleResult] = {}
        total = server.feeds * server.entries
        for cycle in CYCLES:
            out = workdir / f"stats-{cycle}.json"
            result = run_cycle(
                "monitor",
                cycle,
                [*base, "run", "--once", "--all", "--stats-json", str(out)],
                server=server,
                progress=progress,
                timeout=self.timeout,
                env=env,
                read_report=partial(_read_report, out),
            )
            rep = result.reported
            expect(result.checks, "monitor: feeds polled", rep["feeds_polled"], server.feeds)
            want_new = total if cycle == "cold" else 0
            expect(result.checks, "monitor: new articles", rep["new_articles"], want_new)
            if cycle == "304":
                expect(result.checks, "monitor: not modified", rep["not_modified"], server.feeds)
            expect(result.checks, "monitor: errors", rep["errors"], 0)
            results[cycle] = result
        return results


def _read_report(path: Path, _measured: Measured) -> dict[str, Any]:
    return read_stats(path)


def read_stats(path: Path) -> dict[str, Any]:
    """Load and validate the ``--stats-json`` file."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise TypeError("stats JSON is not an object")
    for key, kind in REQUIRED.items():
        value = data.get(key)
        ok = isinstance(value, int | float) if kind is float else isinstance(value, int)
        if not ok or isinstance(value, bool):
            raise ValueError(f"stats JSON: {key!r} should be {kind.__name__}, got {value!r}")
    return data


def describe(command: str) -> dict[str, str]:
    """Python and package version behind the console script (best effort)."""
    info: dict[str, str] = {}
    try:
        first = Path(command).read_text(errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return info
    if not first.startswith("#!") or "python" not in first:
        return info
    code = (
        "import sys, importlib.metadata as m\nprint(sys.version.split()[0])\n"
        "try: print(m.version('monitor'))\nexcept Exception: print('?')"
    )
    try:
        out = subprocess.run(
            [*first[2:].split(), "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return info
    lines = out.stdout.split()
    if len(lines) == 2:
        info = {"python": lines[0], "version": lines[1]}
    return info
