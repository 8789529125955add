"""Drive the baseline, reader 3.27, for the polling benchmark.

Runs under Python 3.12 in bench/.venv-reader (never imported by the bench
itself).  Each invocation prints one JSON object on stdout:

    python reader_cycle.py setup --db DB --urls URLS.txt      # add feeds (untimed)
    python reader_cycle.py cycle --db DB --name cold --expect-new 20000
    python reader_cycle.py all --db DB --urls URLS.txt         # setup + cold + 304

A cycle is ``update_feeds(scheduled=False)``: since reader 3.21 a plain
``update_feeds()`` skips feeds updated within the last hour.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import reader  # type: ignore[import-not-found, unused-ignore]


def _cpu() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def setup(db: str, urls_file: str) -> dict[str, Any]:
    urls = Path(urls_file).read_text().split()
    with reader.make_reader(db) as r:
        for url in urls:
            r.add_feed(url, exist_ok=True)
        feeds = r.get_feed_counts().total
    return {"step": "setup", "feeds": feeds}


def cycle(db: str, name: str, workers: int, expect_new: int | None) -> dict[str, Any]:
    with reader.make_reader(db) as r:
        before = r.get_entry_counts().total or 0
        cpu0, t0 = _cpu(), time.perf_counter()
        r.update_feeds(scheduled=False, workers=workers)
        wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
        entries = r.get_entry_counts().total or 0
        feeds = r.get_feed_counts()
    result: dict[str, Any] = {
        "step": "cycle",
        "cycle": name,
        "wall_s": wall,
        "cpu_s": cpu,
        "workers": workers,
        "feeds": feeds.total,
        "broken_feeds": feeds.broken,
        "entries": entries,
        "new_entries": entries - before,
        "reader_version": reader.__version__,
        "python": sys.version.split()[0],
    }
    if expect_new is not None and result["new_entries"] != expect_new:
        result["error"] = f"expected {expect_new} new entries, got {result['new_entries']}"
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description="reader side of the polling benchmark")
    parser.add_argument("step", choices=("setup", "cycle", "all"))
    parser.add_argument("--db", required=True)
    parser.add_argument("--urls", help="file with one feed URL per line (setup, all)")
    parser.add_argument("--name", default="cold", help="cycle label (cycle)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--expect-new", type=int, help="fail unless this many entries are new")
    args = parser.parse_args()
    if args.step == "setup":
        results = [setup(args.db, args.urls)]
    elif args.step == "cycle":
        results = [cycle(args.db, args.name, args.workers, args.expect_new)]
    else:
        results = [setup(args.db, args.urls)]
        expected = args.expect_new
        results.append(cycle(args.db, "cold", args.workers, expected))
        results.append(cycle(args.db, "304", args.workers, 0 if expected is not None else None))
    for result in results:
        print(json.dumps(result), flush=True)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
