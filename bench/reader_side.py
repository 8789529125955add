"""The baseline contender: reader 3.27 in its own Python 3.12 venv."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from bench import reader_env
from bench.cycles import (
    CYCLES,
    ContenderError,
    CycleResult,
    expect,
    last_json_line,
    run_cycle,
    run_untimed,
)
from bench.measure import Measured
from bench.server import FeedServer
from bench.ui import Progress

SCRIPT = Path(__file__).resolve().parent / "reader_cycle.py"


class ReaderContender:
    name = "reader"

    def __init__(self, timeout: float, workers: int = 1) -> None:
        self.timeout, self.workers = timeout, workers
        self.python = reader_env.venv_python()
        self.info: dict[str, str] = {}

    def prepare(self, progress: Progress) -> None:
        progress.step("reader: checking its venv (bench/.venv-reader, created on first run)")
        try:
            self.python = reader_env.ensure()
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            raise ContenderError(f"cannot set up reader's venv: {exc}") from exc

    def run(self, server: FeedServer, workdir: Path, progress: Progress) -> dict[str, CycleResult]:
        db = str(workdir / "reader.sqlite")
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        base = [str(self.python), str(SCRIPT)]
        progress.step(f"reader: adding {server.feeds} feeds (untimed)")
        setup = [*base, "setup", "--db", db, "--urls", str(server.urls_path)]
        run_untimed("reader setup", setup, env, self.timeout)
        results: dict[str, CycleResult] = {}
        total = server.feeds * server.entries
        for cycle in CYCLES:
            want_new = total if cycle == "cold" else 0
            cmd = [*base, "cycle", "--db", db, "--name", cycle, "--workers", str(self.workers)]
            result = run_cycle(
                "reader",
                cycle,
                cmd,
                server=server,
                progress=progress,
                timeout=self.timeout,
                env=env,
                read_report=_report,
            )
            rep = result.reported
            expect(result.checks, "reader: new entries", rep.get("new_entries"), want_new)
            expect(result.checks, "reader: entries stored", rep.get("entries"), total)
            expect(result.checks, "reader: broken feeds", rep.get("broken_feeds"), 0)
            self.info = {
                "version": str(rep.get("reader_version")),
                "python": str(rep.get("python")),
                "workers": str(self.workers),
            }
            results[cycle] = result
        return results


def _report(measured: Measured) -> dict[str, Any]:
    return last_json_line(measured.stdout)
