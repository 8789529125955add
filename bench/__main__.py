"""Polling benchmark: monitor against reader 3.27 on a loopback feed server.

python -m bench [--feeds 1000] [--entries 20] [--repeat 1] [--only monitor|reader]

The watchlist matching benchmark is separate: python -m bench.matching (bench/matching.py).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from bench import report
from bench.cycles import ContenderError, CycleResult
from bench.measure import become_subreaper
from bench.monitor_side import MonitorContender
from bench.reader_side import ReaderContender
from bench.results import RESULTS, exit_status, machine_info
from bench.server import FeedServer
from bench.ui import Progress


class Contender(Protocol):
    name: str
    info: dict[str, str]

    def prepare(self, progress: Progress) -> None: ...

    def run(
        self, server: FeedServer, workdir: Path, progress: Progress
    ) -> dict[str, CycleResult]: ...


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.splitlines()[0],
        epilog="See also: python -m bench.matching (watchlist matching benchmark, "
        "bench/README.md).",
    )
    parser.add_argument("--feeds", type=int, default=1000, help="number of feeds (1000)")
    parser.add_argument("--entries", type=int, default=20, help="entries per feed (20)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender; median (1)")
    parser.add_argument("--only", choices=("monitor", "reader"), help="run one contender")
    parser.add_argument("--seed", type=int, default=1, help="feed content seed (1)")
    parser.add_argument("--timeout", type=float, default=600, help="per subprocess, s (600)")
    parser.add_argument("--reader-workers", type=int, default=1, help="reader's workers (1)")
    parser.add_argument("--monitor-cmd", help="monitor executable (default: the venv's)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--keep-tmp", action="store_true", help="keep databases and logs")
    parser.add_argument(
        "--check-targets", action="store_true", help="exit 2 when a target is not met"
    )
    args = parser.parse_args(argv)
    if min(args.feeds, args.entries, args.repeat) < 1:
        parser.error("--feeds, --entries and --repeat must be >= 1")
    return args


def run(args: argparse.Namespace, console: Console, workdir: Path) -> dict[str, Any]:
    machine = machine_info()
    machine["subreaper"] = become_subreaper()  # count orphaned descendants' CPU too
    contenders: list[Contender] = []
    if args.only in (None, "monitor"):
        contenders.append(MonitorContender(args.timeout, args.monitor_cmd))
    if args.only in (None, "reader"):
        contenders.append(ReaderContender(args.timeout, args.reader_workers))
    runs: dict[str, list[dict[str, CycleResult]]] = {c.name: [] for c in contenders}
    errors: dict[str, str] = {}
    with Progress(console) as progress:
        for contender in contenders:
            try:
                contender.prepare(progress)
            except ContenderError as exc:
                errors[contender.name] = str(exc)
                progress.fail(str(exc))
        progress.step(f"feed server: rendering {args.feeds} feeds × {args.entries} entries")
        with FeedServer(args.feeds, args.entries, workdir, args.seed) as server:
            progress.done(f"listening on 127.0.0.1:{server.port}")
            for k in range(args.repeat):
                order = contenders if k % 2 == 0 else contenders[::-1]  # alternate for drift
                for contender in order:
                    if contender.name in errors:
                        continue
                    progress.step(f"run {k + 1}/{args.repeat}: {contender.name}")
                    rundir = workdir / f"{contender.name}-{k + 1}"
                    rundir.mkdir()
                    try:
                        runs[contender.name].append(contender.run(server, rundir, progress))
                    except (ContenderError, OSError, subprocess.SubprocessError) as exc:
                        errors[contender.name] = str(exc)
                        progress.fail(str(exc))
    params = {k: getattr(args, k) for k in ("feeds", "entries", "repeat", "only", "seed")}
    params["reader_workers"] = args.reader_workers
    summary = {
        c.name: {
            "info": c.info,
            "cycles": report.summarise(runs[c.name]),
            "error": errors.get(c.name),
        }
        for c in contenders
    }
    return report.build(params, machine, summary)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(log_path=False)
    workdir = Path(tempfile.mkdtemp(prefix="bench-polling-"))
    try:
        result = run(args, console, workdir)
    finally:
        if args.keep_tmp:
            console.print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report.print_table(result, console)
    for path in report.write(result, args.out):
        console.print(f"wrote {path}")
    return exit_status(result, args.check_targets)


if __name__ == "__main__":
    sys.exit(main())
