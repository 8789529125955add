"""Write docs/reliability.md: every hazard tried at full scale, with what happened.

    .venv/bin/python -m tests.reliability            # full counts (tens of minutes)
    .venv/bin/python -m tests.reliability --ci       # the counts CI runs (a few minutes)
    .venv/bin/python -m tests.reliability --only fetching,faults

The scenarios are the ones the tests in this package run at CI scale: the report
only turns the knob up. Exit status 1 when a figure missed its target.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from tests.reliability.figures import Figure, Scale, Scenario
from tests.reliability.suites import SUITES

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "reliability.md"
AREAS = ("fetching", "parsing", "alerting", "running", "security")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    scale = Scale.ci() if args.ci else Scale.full()
    console = Console(stderr=True)
    chosen = [s for s in SUITES if not args.only or s in args.only.split(",")]
    figures: list[Figure] = []
    timings: dict[str, float] = {}
    for suite in chosen:
        for scenario in SUITES[suite]:
            figures += _run(scenario, scale, console, timings)
    args.out.write_text(markdown(figures, scale, timings, args))
    console.print(f"wrote {args.out}: {sum(f.met for f in figures)}/{len(figures)} targets met")
    return 0 if all(f.met for f in figures) else 1


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability")
    parser.add_argument("--ci", action="store_true", help="the counts CI runs")
    parser.add_argument("--only", default="", help=f"comma-separated: {', '.join(SUITES)}")
    parser.add_argument("--out", type=Path, default=OUT)
    return parser.parse_args(argv)


def _run(
    scenario: Scenario, scale: Scale, console: Console, timings: dict[str, float]
) -> list[Figure]:
    name = scenario.__name__
    with console.status(f"{name} …"):
        started = time.perf_counter()
        found = list(scenario(scale))
        timings[name] = time.perf_counter() - started
    missed = sum(not f.met for f in found)
    mark = "[green]✓[/]" if not missed else f"[red]✗ {missed} missed[/]"
    console.print(f"{name}: {len(found)} figures in {timings[name]:.0f} s {mark}")
    return found


def markdown(
    figures: Sequence[Figure], scale: Scale, timings: dict[str, float], args: argparse.Namespace
) -> str:
    met = sum(f.met for f in figures)
    lines = [
        "# Reliability: every hazard tried",
        "",
        "What `monitor` was put through on loopback (hostile feed servers, failing mail and",
        "webhook endpoints, killed processes, broken watchlist edits), how many times, and",
        "what a user would have seen. Written by `.venv/bin/python -m tests.reliability`;",
        "the same scenarios run in CI at a smaller scale (`tests/reliability/`). The",
        "hazards are those of `../shared/design/HAZARDS.md`.",
        "",
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}; {_machine()}",
        f"- code: {_git()}; command: `python -m tests.reliability{' --ci' if args.ci else ''}`",
        f"- scale: {scale.runs} runs of each fault, {scale.kills} kills per database; "
        f"{sum(timings.values()) / 60:.1f} min in all",
        f"- **{met} of {len(figures)} targets met**",
        "",
    ]
    for area in [*AREAS, *sorted({f.area for f in figures} - set(AREAS))]:
        rows = [f for f in figures if f.area == area]
        if rows:
            lines += [f"## {area.capitalize()}", "", *_table(rows), ""]
    lines += ["## Time per scenario", "", "| scenario | s |", "|---|---:|"]
    lines += [f"| `{name}` | {seconds:.1f} |" for name, seconds in timings.items()]
    return "\n".join(lines) + "\n"


def _table(rows: Sequence[Figure]) -> list[str]:
    out = ["| hazard | tries | outcome | target | met |", "|---|---:|---|---|:-:|"]
    for f in rows:
        cells = (f.hazard, f"{f.tries:,}", f.outcome, f.target, "✓" if f.met else "✗")
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return out


def _machine() -> str:
    return f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


def _git() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return head or "unknown"


if __name__ == "__main__":
    sys.exit(main())
