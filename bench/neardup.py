"""Near-duplicate evaluation and speed: quality on real text, then speed at scale.

python -m bench.neardup [--quick] [--share F] [--sizes 10000,100000,1000000]
                        [--databases sqlite,postgresql] [--skip-quality] [--skip-speed]

Quality: the 2,225 BBC articles plus one copy of each per transformation
(bench/neardup_data.py) go into a real SQLite database as stored articles, the
near stage the daemon runs compares them, and the verdicts are scored against
the truth (bench/neardup_metrics.py). Speed: a database holding N indexed
articles (real sketches, and fillers whose keys follow the real ones), then the
time the stage takes for 2,000 new articles, on SQLite and on PostgreSQL.
Results go to bench/results/neardup.{json,md}.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.neardup_data import ALL, BBC, Dataset, Doc, Thesaurus, build_dataset, read_bbc
from bench.neardup_db import (
    TimedStore,
    add_feed,
    article_id,
    fresh_repository,
    index_bytes,
    load_docs,
    near_stage,
    prefill,
    settle,
    shared_keys,
    verdicts,
)
from bench.neardup_metrics import Scores, evaluate, markdown_rows, markdown_summary
from bench.results import RESULTS, exit_status, machine_info, target, write_pair
from bench.tables import TARGET_COLUMNS, Table, target_rows
from bench.ui import Progress
from monitor.config import DuplicateSettings
from monitor.near.sketch import features
from monitor.store.models import SketchKeyRow
from monitor.store.repository import Repository

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
TIMED_ARTICLES = 2_000
TARGETS = {
    "exact": 1.0,
    "syndicated": 1.0,
    "headline": 0.99,
    "edited": 0.99,
    "lead": 0.99,
    "spin10": 0.95,
    "spin30": 0.95,
    "spin50": 0.90,
}
PRECISION_TARGET = 0.99
FALSE_MERGES_PER_1000 = 1.0
SPEED_TARGET = 2_000  # articles per second at 100,000 indexed
SCALE_TARGET = 2.0  # time per article at 1,000,000 over at 10,000
BYTES_TARGET = 1_536


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    console = Console(stderr=True)
    result: dict[str, Any] = {
        "machine": machine_info(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": DuplicateSettings().model_dump(),
    }
    with Progress(console) as progress:
        progress.step("reading the BBC articles and WordNet")
        sources = read_bbc(BBC)
        thesaurus = Thesaurus.load()
        progress.step("building the copies")
        data = build_dataset(sources, thesaurus, seed=args.seed, copy_share=args.share)
        if not args.skip_quality:
            result["quality"] = quality(data, progress)
        if not args.skip_speed:
            result["speed"] = speed(data, args.sizes, args.databases, progress)
    result["targets"] = targets(result)
    result["valid"] = True
    stem = "neardup-quick" if args.quick else "neardup"
    text = markdown(result)
    write_pair(args.out, stem, result, text)
    Console().print(text)
    return exit_status(result, args.check_targets)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.neardup", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="share 0.2, sizes 10,000 only")
    parser.add_argument("--share", type=float, default=1.0, help="share of articles copied")
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--check-targets", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.share, args.sizes = min(args.share, 0.2), "10000"
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.databases = [d for d in args.databases.split(",") if d]
    return args


# ---------------------------------------------------------------------------- quality


def quality(data: Dataset, progress: Progress) -> dict[str, Any]:
    progress.step(f"quality: the near stage over {len(data.docs):,} articles (SQLite)")
    with tempfile.TemporaryDirectory() as tmp:
        repo = fresh_repository(f"sqlite:///{tmp}/quality.db")
        try:
            seconds = _run_stage(repo, data.docs, progress)
            found = verdicts(repo)
        finally:
            repo.close()
    progress.step("quality: exact measures of every copy against its original (thresholds)")
    measures = _measures(data)
    predicted, stories = _clusters(data.docs, found)
    scores = evaluate(data.truth, predicted, data.docs, getattr(data, "bbc_related_pairs", ()))
    story_sizes = _story_sizes(data.docs, stories)
    return {
        "docs": len(data.docs),
        "seconds": round(seconds, 2),
        "bbc_duplicate_groups": len(data.bbc_duplicate_groups),
        "scores": _scores_json(scores),
        "markdown_rows": markdown_rows(scores),
        "markdown_summary": markdown_summary(scores),
        "stories": story_sizes,
        "measures": measures,
    }


MEASURES = ("containment", "words", "masked", "masked - words", "names")
RELATED = "related pairs (apart)"


def _measures(data: Dataset) -> dict[str, dict[str, list[float]]]:
    """Percentiles (1, 5, 50) of each measure the copy rules use, per transformation,
    and for the BBC's related pairs (updates sharing paragraphs, which must stay apart)."""
    import numpy as np

    from monitor.near.similarity import exact

    by_id = {d.id: d for d in data.docs}
    cache: dict[str, Any] = {}

    def feats(doc_id: str) -> Any:
        if doc_id not in cache:
            doc = by_id[doc_id]
            cache[doc_id] = features(doc.title, doc.text)
        return cache[doc_id]

    pairs: dict[str, list[tuple[str, str]]] = {name: [] for name in ALL}
    for doc in data.docs:
        if doc.transform != "original":
            pairs.setdefault(doc.transform, []).append((doc.id, doc.source_id))
    pairs[RELATED] = [p for p in data.bbc_related_pairs if p[0] in by_id]
    result = {}
    for name, members in pairs.items():
        if not members:
            continue
        sims = [exact(feats(a), feats(b)) for a, b in members]
        values = {
            "containment": [x.containment for x in sims],
            "words": [x.words for x in sims],
            "masked": [x.masked for x in sims],
            "masked - words": [x.masked - x.words for x in sims],
            "names": [x.names for x in sims],
        }
        # Copies: how low they go (1st, 5th percentile, median); the pairs that
        # must stay apart: how high (median, 95th percentile, highest).
        points = [50, 95, 100] if name == RELATED else [1, 5, 50]
        result[name] = {
            m: [round(float(v), 3) for v in np.percentile(values[m], points)] for m in MEASURES
        }
    return result


def _run_stage(repo: Repository, docs: Sequence[Doc], progress: Progress) -> float:
    feed = add_feed(repo)
    load_docs(repo, feed, docs, datetime(2024, 1, 1, tzinfo=UTC))
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        progress.update(f"{done:,} / {len(docs):,} compared")

    stage = near_stage(repo, DuplicateSettings(), datetime.now(UTC))
    stage.progress = advance
    started = time.perf_counter()
    stage.run()
    return time.perf_counter() - started


def _clusters(
    docs: Sequence[Doc], found: dict[str, tuple[str | None, int | None]]
) -> tuple[dict[str, str], dict[str, int | None]]:
    by_article = {article_id(d.id): d.id for d in docs}
    predicted, stories = {}, {}
    for doc in docs:
        original, story = found[article_id(doc.id)]
        predicted[doc.id] = by_article.get(original, doc.id) if original else doc.id
        stories[doc.id] = story
    return predicted, stories


def _story_sizes(docs: Sequence[Doc], stories: dict[str, int | None]) -> dict[str, Any]:
    """How the BBC originals (no copies) were grouped into stories, with examples."""
    members: dict[int | None, list[Doc]] = {}
    for doc in docs:
        if doc.transform == "original":
            members.setdefault(stories[doc.id], []).append(doc)
    largest = sorted(members.values(), key=len, reverse=True)
    return {
        "originals": sum(len(m) for m in largest),
        "stories": len(largest),
        "largest": [len(m) for m in largest[:10]],
        "in_stories_of_2_or_more": sum(len(m) for m in largest if len(m) > 1),
        "examples": [[f"{d.id}: {d.title}" for d in m[:6]] for m in largest[:3]],
    }


def _scores_json(scores: Scores) -> dict[str, Any]:
    return {
        "per_transform": {
            t.transform: {"copies": t.copies, "recall": t.recall, "precision": t.precision}
            for t in scores.per_transform
        },
        "precision": scores.precision,
        "recall": scores.recall,
        "ari": scores.ari,
        "false_merges": scores.false_merges.count,
        "false_merges_per_1000": scores.false_merges.per_1000,
        "false_merge_examples": [list(pair) for pair in scores.false_merges.examples],
    }


# ---------------------------------------------------------------------------- speed


def speed(
    data: Dataset, sizes: Sequence[int], databases: Sequence[str], progress: Progress
) -> list[dict[str, Any]]:
    rows = []
    # The stream goes on: the articles after those indexed, originals and their
    # copies mixed as they were published, are the ones timed.
    real = list(data.docs[:TIMED_ARTICLES])
    timed = list(data.docs[TIMED_ARTICLES : 2 * TIMED_ARTICLES])
    with tempfile.TemporaryDirectory() as tmp:
        for database in databases:
            for size in sizes:
                url = f"sqlite:///{tmp}/speed-{size}.db" if database == "sqlite" else POSTGRES
                progress.step(f"speed: {database}, {size:,} indexed")
                rows.append(_speed_one(url, database, size, (real, timed), progress))
                progress.step(
                    f"  {rows[-1]['articles_per_s']:,.0f} articles/s, "
                    f"{rows[-1]['index_bytes_per_article']:,.0f} B/article"
                )
    return rows


def _speed_one(
    url: str,
    database: str,
    size: int,
    docs: tuple[list[Doc], list[Doc]],
    progress: Progress,
) -> dict[str, Any]:
    real, fresh = docs
    repo = fresh_repository(url)
    try:
        feed = add_feed(repo)
        pool = _real_keys(repo, feed, real, progress)
        progress.update(f"filling the index to {size:,} articles")
        prefill(repo, feed, max(0, size - len(real)), pool, seed=size)
        settle(repo)
        load_docs(repo, feed, fresh, datetime(2024, 6, 1, tzinfo=UTC))
        # The word lists are loaded once per process (0.5 s): a worker has them.
        features("Warm up", "The word lists are loaded before the clock starts.", "en")
        store = TimedStore(repo)
        stage = near_stage(store, DuplicateSettings(), datetime.now(UTC))
        gc.collect()
        started = time.perf_counter()
        cpu = time.process_time()
        report = stage.run()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        indexed = max(size, len(real)) + len(fresh)
        per_article = 1e6 / report.articles
        return {
            "us_reading": store.reads * per_article,
            "us_computing": (wall - store.reads - store.saves) * per_article,
            "us_saving": store.saves * per_article,
            "database": database,
            "indexed": size,
            "articles": report.articles,
            "seconds": round(wall, 3),
            "articles_per_s": report.articles / wall,
            "us_per_article": 1e6 * wall / report.articles,
            "cpu_share": cpu / wall,
            "copies_found": report.copies,
            "index_bytes_per_article": index_bytes(repo) / indexed,
            "key_rows_per_article": _key_rows(repo) / indexed,
        }
    finally:
        repo.close()


def _real_keys(repo: Repository, feed: int, docs: list[Doc], progress: Progress) -> dict[int, int]:
    """Index ``docs`` for real; return the keys 3 or more share, with their counts."""
    progress.update(f"indexing {len(docs):,} real articles")
    return shared_keys(repo, feed, docs, datetime(2024, 1, 1, tzinfo=UTC), datetime.now(UTC))


def _key_rows(repo: Repository) -> int:
    from sqlalchemy import func, select

    with repo.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(SketchKeyRow)).scalar_one())


# ---------------------------------------------------------------------------- report


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    quality_ = result.get("quality")
    if quality_:
        scores = quality_["scores"]
        for name, least in TARGETS.items():
            recall = scores["per_transform"].get(name, {}).get("recall")
            if recall is not None:
                found.append(target(f"recall {name} ≥ {least:.2f}", recall, recall >= least))
        precision = scores["precision"] or 0.0
        found.append(target("precision ≥ 0.99", precision, precision >= PRECISION_TARGET))
        merges = scores["false_merges_per_1000"]
        found.append(target("false merges ≤ 1 per 1,000", merges, merges <= FALSE_MERGES_PER_1000))
    for database in {row["database"] for row in result.get("speed", [])}:
        rows = {r["indexed"]: r for r in result["speed"] if r["database"] == database}
        if 100_000 in rows:
            rate = rows[100_000]["articles_per_s"]
            found.append(target(f"{database}: ≥ 2,000/s at 100k", rate, rate >= SPEED_TARGET))
        if 1_000_000 in rows and 10_000 in rows:
            ratio = rows[1_000_000]["us_per_article"] / rows[10_000]["us_per_article"]
            found.append(target(f"{database}: 1M / 10k time ≤ 2", ratio, ratio <= SCALE_TARGET))
        biggest = rows[max(rows)]
        size = biggest["index_bytes_per_article"]
        found.append(target(f"{database}: index ≤ 1.5 KB/article", size, size <= BYTES_TARGET))
    return found


def _stories_line(stories: dict[str, Any]) -> str:
    return (
        f"- stories among the {stories['originals']:,} BBC originals (no copies): "
        f"{stories['stories']:,}; {stories['in_stories_of_2_or_more']:,} originals share a "
        f"story with another; the largest have {stories['largest']} articles. Examples "
        "(first articles of the three largest):"
    )


def markdown(result: dict[str, Any]) -> str:
    lines = ["# Near-duplicate evaluation and speed", ""]
    machine = result["machine"]
    lines.append(
        f"- date: {result['started']}; machine: {machine['cpu_count']} CPUs, "
        f"{machine['cpu_model']}, Python {machine['bench_python']}; "
        f"load at start {machine['loadavg_at_start']}"
    )
    quality_ = result.get("quality")
    if quality_:
        lines += [
            "",
            "## Quality",
            "",
            f"{quality_['docs']:,} articles (BBC originals and their copies), compared in "
            f"{quality_['seconds']} s; {quality_['bbc_duplicate_groups']} groups of the BBC's "
            "own duplicates count as one truth cluster each.",
            "",
            *quality_["markdown_rows"],
            "",
            *quality_["markdown_summary"],
            "",
            _stories_line(quality_["stories"]),
            *[
                f"  - {len(example)}+ of a story: " + "; ".join(example)
                for example in quality_["stories"]["examples"]
            ],
        ]
    if quality_ and quality_.get("measures"):
        lines += [
            "",
            "### The measures behind the thresholds (exact, copy against its original)",
            "",
            "Copies: percentiles 1 / 5 / 50 of each measure (how low they go). Related "
            "pairs, BBC updates that share paragraphs and must stay apart: percentiles "
            "50 / 95 / 100 (how high they go). The copy rules sit between.",
            "",
        ]
        rows = [
            [name, *(" / ".join(f"{v:.2f}" for v in row[m]) for m in MEASURES)]
            for name, row in quality_["measures"].items()
        ]
        lines += Table("", ["pairs", *MEASURES], rows, "l" + "r" * len(MEASURES)).markdown()
    if result.get("speed"):
        lines += [
            "",
            "## Speed (dedup check plus index insert, one core)",
            "",
            "µs/article split into the stage's queries (reading), its work in Python and "
            "the compiled kernel (computing: sketching, screening, deciding) and its one "
            "transaction a batch (saving).",
            "",
        ]
        lines += Table(
            "", SPEED_COLUMNS, [_speed_row(r) for r in result["speed"]], "lrrrrrrrr"
        ).markdown()
    rows = target_rows(result["targets"], lambda t: f"{t['value']:,.4g}")
    lines += ["", *Table("Targets", TARGET_COLUMNS, rows, "llr").markdown()]
    return "\n".join(lines) + "\n"


SPEED_COLUMNS = (
    "database", "indexed", "articles/s", "µs/article", "reading", "computing", "saving",
    "index B/article", "key rows/article",
)  # fmt: skip


def _speed_row(row: dict[str, Any]) -> list[str]:
    split = [row.get(f"us_{part}") for part in ("reading", "computing", "saving")]
    return [
        row["database"],
        f"{row['indexed']:,}",
        f"{row['articles_per_s']:,.0f}",
        f"{row['us_per_article']:,.0f}",
        *("–" if us is None else f"{us:,.0f}" for us in split),
        f"{row['index_bytes_per_article']:,.0f}",
        f"{row['key_rows_per_article']:.1f}",
    ]


if __name__ == "__main__":
    sys.exit(main())
