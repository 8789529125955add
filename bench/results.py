"""What every benchmark records beside its figures (the machine, the code, the
command), and how it writes bench/results/STEM.json and STEM.md."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WATCHED = ("monitor", "alerts")  # the code the daemon benchmarks run: its templates too


def machine_info() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_physical": psutil.cpu_count(logical=False),
        "cpu_model": model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "bench_python": sys.version.split()[0],
    }


def begin(benchmark: str) -> dict[str, Any]:
    """A results record's first keys: which benchmark, when, on what machine, which code."""
    return {
        "benchmark": benchmark,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "git": git_state(),
    }


def git(*argv: str) -> str:
    """What ``git ARGV`` prints in the project, or "" where git fails (no checkout)."""
    try:
        done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def git_state() -> dict[str, Any]:
    """HEAD, and the uncommitted changes of the code under measurement."""
    changed = git("status", "--porcelain", "--", *WATCHED).splitlines()
    return {"head": git("rev-parse", "--short", "HEAD") or None, "uncommitted": changed}


def command_argv(argv: Sequence[str] | None) -> list[str]:
    """The arguments the benchmark was called with, for its results file."""
    return list(sys.argv[1:] if argv is None else argv)


def code_and_command(result: dict[str, Any], module: str) -> list[str]:
    """The Markdown lines telling which code ran, and the command that ran it."""
    g, argv = result["git"], result["params"]["argv"]
    return [
        f"- code: HEAD {g['head']}; uncommitted in monitor/, alerts/: {len(g['uncommitted'])}",
        f"- command: `.venv/bin/python -m {module}{''.join(' ' + a for a in argv)}`",
    ]


def target(name: str, value: Any, met: bool | None) -> dict[str, Any]:
    return {"target": name, "value": value, "met": met}


def write_pair(out_dir: Path, stem: str, result: dict[str, Any], text: str) -> tuple[Path, Path]:
    """STEM.json and STEM.md, each replaced whole (never left half written)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = (out_dir / f"{stem}.json", out_dir / f"{stem}.md")
    for path, body in zip(paths, (json.dumps(result, indent=2) + "\n", text), strict=True):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(body)
        tmp.replace(path)
    return paths


def exit_status(result: dict[str, Any], check_targets: bool) -> int:
    """0; 1 when the run is invalid; 2 with --check-targets when a target was missed."""
    if not result["valid"]:
        return 1
    if check_targets and any(t["met"] is not True for t in result["targets"]):
        return 2
    return 0
