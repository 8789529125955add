"""The near stage's memory, alone: the workers benchmark's load without the daemon.

.venv/bin/python -m bench.near_memory [--db DIR] [--stored 100000] [--feeds 2000]
                                     [--entries 10] [--tracemalloc] [--postgres]

A database holding S stored articles (bench/workers_data.py's fillers) and the
F × E new articles the workers benchmark serves (stored as the poller leaves
them, ``near_at`` NULL) is built once and kept in ``--db``; each run compares
every new article on a copy of it, as ``monitor run`` does (one NearStage run in
``asyncio.to_thread``, glibc limited to two arenas), and prints the resident
memory after each batch, the peak (sampled every 0.1 s), the articles per
second, and a digest of the verdicts (copies and stories), to compare two
versions' decisions. ``--tracemalloc`` adds the largest live allocations by
line after the run (and slows it down).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import hashlib
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench.databases import (
    CHUNK,
    clone_pg,
    create_pg,
    drop_pg,
    engine_for,
    pg_admin,
    pg_exists,
    vacuum_analyze,
)

TEMPLATE = "near.db"
SAMPLE_EVERY = 0.1


def build(directory: Path, stored: int, feeds: int, entries: int) -> Path:
    """The pre-filled SQLite database (built once, reused by every run)."""
    from bench.neardup_data import BBC, read_bbc
    from bench.neardup_db import add_feed, load_docs
    from bench.workers_data import common_keys, feed_entries, fill_stored
    from monitor.store.repository import Repository

    path = directory / f"near-{stored}-{feeds}x{entries}.db"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    sources = read_bbc(BBC)
    pool = common_keys(sources, feeds, entries)
    now = datetime.now(UTC)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    repo = Repository.open(f"sqlite:///{partial}")
    try:
        fill_stored(repo, stored, pool)
        docs = [e.doc() for feed in feed_entries(sources, feeds, entries, now) for e in feed]
        # The feed the new articles came from (fill_stored made the stored articles' one).
        load_docs(repo, add_feed(repo, "bench-new", "https://new.example/feed"), docs, now)
    finally:
        repo.close()
    partial.rename(path)
    return path


def to_postgres(template: Path) -> str:
    """A fresh PostgreSQL database with the SQLite template's rows (for ``--postgres``):
    a copy of a PostgreSQL template made once (``bench_near_memory_<file>``)."""
    source_name = f"bench_near_memory_{template.stem.replace('-', '_')}"
    if not pg_exists(source_name):
        _fill_postgres(template, source_name)
    return clone_pg(source_name, f"bench_near_memory_run_{os.getpid()}")


def _fill_postgres(template: Path, name: str) -> None:
    from sqlalchemy import MetaData, create_engine, insert, select, text

    from monitor.store.repository import Repository

    partial = f"{name}_partial"
    drop_pg(partial)
    url = create_pg(partial)
    Repository.open(url).close()  # the schema, migrated
    source = create_engine(f"sqlite:///{template}")
    target = engine_for(url)
    meta = MetaData()
    meta.reflect(target)
    with source.connect() as src, target.begin() as dst:
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            for start in range(0, len(rows), CHUNK):
                dst.execute(insert(table), rows[start : start + CHUNK])
        for table_name, column in (("sketches", "doc"), ("feeds", "id")):
            serial = f"pg_get_serial_sequence('{table_name}', '{column}')"
            dst.execute(text(f"SELECT setval({serial}, max({column})) FROM {table_name}"))
    vacuum_analyze(target)
    source.dispose()
    target.dispose()
    pg_admin(f'ALTER DATABASE "{partial}" RENAME TO "{name}"')


def drop_postgres(url: str) -> None:
    drop_pg(url.rsplit("/", 1)[1])


class Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process()
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._halt.wait(SAMPLE_EVERY)

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def mb(n: float) -> str:
    return f"{n / 2**20:.1f}"


def run(url: str, trace: bool, batch: int | None = None) -> dict[str, Any]:
    from bench.neardup_db import near_stage, verdicts
    from monitor.config import DuplicateSettings
    from monitor.core.memory import limit_malloc_arenas
    from monitor.near.sketch import features
    from monitor.store.repository import Repository

    limit_malloc_arenas()  # as monitor run does
    repo = Repository.open(url)
    process = psutil.Process()
    done = [0]
    started = [0.0]

    def progress(n: int) -> None:
        done[0] += n
        rate = done[0] / (time.perf_counter() - started[0])
        print(
            f"  {done[0]:6d} articles  rss {mb(process.memory_info().rss)} MB  {rate:.0f}/s",
            flush=True,
        )

    # What a worker has loaded before its first near run (the matcher reads the same
    # word ranks): not the near stage's growth.
    features("Warm up", "The word lists are loaded once per process.", "en")
    stage = near_stage(repo, DuplicateSettings(), datetime.now(UTC))
    stage.progress = progress
    if batch:
        stage.batch = batch
    sampler = Sampler()
    sampler.start()
    before = process.memory_info().rss
    print(f"before the run: rss {mb(before)} MB, heap {malloc_info(trim=False)}", flush=True)
    if trace:
        tracemalloc.start(8)
    started[0] = time.perf_counter()
    report = asyncio.run(_in_thread(stage.run))
    seconds = time.perf_counter() - started[0]
    sampler.stop()
    after = process.memory_info().rss
    if trace:
        snapshot = tracemalloc.take_snapshot()
        tracemalloc.stop()
        print("largest live allocations after the run (by line):")
        for stat in snapshot.statistics("lineno")[:25]:
            print(f"  {stat.size / 2**20:7.2f} MB {stat.count:8d}  {stat.traceback[0]}")
    heap = malloc_info()
    print(f"glibc heap after the run: {heap}", flush=True)
    found = verdicts(repo)
    digest = _digest(found)
    repo.close()
    out = {
        "articles": report.articles,
        "copies": report.copies,
        "new_stories": report.new_stories,
        "joined": report.joined_stories,
        "seconds": round(seconds, 1),
        "articles_per_s": round(report.articles / seconds, 1),
        "rss_before_mb": round(before / 2**20, 1),
        "rss_peak_mb": round(sampler.peak / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "growth_mb": round((sampler.peak - before) / 2**20, 1),
        "heap": heap,
        "verdicts": digest,
    }
    print(out, flush=True)
    return out


def pymalloc_info() -> dict[str, float]:
    """Python's small-object allocator (MB): its arenas, and the blocks in use in them."""
    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)
        sys.stderr.flush()
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode()
    arenas = re.search(r"(\d+) arenas \* (\d+) bytes/arena", text)
    used = re.search(r"# bytes in allocated blocks\s+=\s+([\d,]+)", text)
    assert arenas and used
    return {
        "py_arenas": int(arenas[1]) * int(arenas[2]) / 2**20,
        "py_in_use": int(used[1].replace(",", "")) / 2**20,
    }


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
            "fsmblks", "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def malloc_info(trim: bool = True) -> dict[str, float]:
    """glibc's heap (MB): in use, free but kept, in mmapped blocks; RSS once trimmed."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = _Mallinfo2
    info = libc.mallinfo2()
    out = pymalloc_info() | {
        "in_use": info.uordblks / 2**20,
        "free_kept": info.fordblks / 2**20,
        "mmapped": info.hblkhd / 2**20,
    }
    if trim:
        libc.malloc_trim(0)
    out["rss_trimmed" if trim else "rss"] = psutil.Process().memory_info().rss / 2**20
    return {k: round(v, 1) for k, v in out.items()}


async def _in_thread(call: Any) -> Any:
    return await asyncio.to_thread(call)


def _digest(found: dict[str, tuple[str | None, int | None]]) -> str:
    """Copies and stories, as partitions: story ids are numbered in the order saved."""
    stories: dict[int | None, list[str]] = {}
    for article, (_, story) in found.items():
        stories.setdefault(story, []).append(article)
    groups = sorted(",".join(sorted(members)) for members in stories.values())
    copies = sorted(f"{a}>{dup}" for a, (dup, _) in found.items() if dup)
    text = "\n".join(groups) + "\n--\n" + "\n".join(copies)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path(".bench-near-memory"))
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--feeds", type=int, default=2_000)
    parser.add_argument("--entries", type=int, default=10)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--batch", type=int, help="articles per batch (default: the stage's)")
    args = parser.parse_args(argv)
    template = build(args.db, args.stored, args.feeds, args.entries)
    if args.postgres:
        url = to_postgres(template)
        try:
            run(url, args.tracemalloc, args.batch)
        finally:
            drop_postgres(url)
        return
    copy = args.db / f"run-{os.getpid()}.db"
    shutil.copyfile(template, copy)
    try:
        run(f"sqlite:///{copy}", args.tracemalloc, args.batch)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
