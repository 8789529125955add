"""The benchmarks' verdicts dumped to files, to diff two versions of monitor.

python -m bench.verdicts OUTDIR [--quick]

Writes, deterministically (sorted lines, sorted keys; no timings, paths or clock
times), what the benchmarks decide rather than how fast:

- ``matching.jsonl``: per rule-set size and BBC article, the matches of the
  watchlist matching benchmark (bench/matching.py), with their scores, terms,
  snippets and highlights, in the matcher's own order;
- ``near.jsonl``: per article of the near-duplicate quality set
  (bench/neardup.py), the article it was judged a copy of, why and how alike, and
  its story, named by the smallest article id in it (story ids are serials);
- ``polling.json``: what the polling benchmark counts (bench/monitor_side.py,
  bench/cycles.py) for the monitor CLI alone, cold then 304, on a small feed
  server, with the articles and feeds its database ends up holding.

``--quick``: the benchmarks' own quick data (fewer rule sets and articles, a
fifth of the articles copied): 40 s. A full run takes 1.5 minutes on an idle machine
(4 minutes while other work shares its two cores).
Run it on both versions and ``diff -r`` the two directories.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import text

from bench.matching import DEFAULT_SIZES, QUICK_ARTICLES, QUICK_SIZES
from bench.matching_data import (
    CONCEPTS,
    Entry,
    build_rules,
    order_actors,
    read_actors,
    read_agent_concepts,
    read_articles,
)
from bench.monitor_side import MonitorContender
from bench.neardup_data import Thesaurus, build_dataset, read_bbc
from bench.neardup_db import add_feed, article_id, fresh_repository, load_docs, near_stage, verdicts
from bench.server import FeedServer
from bench.ui import Progress

# ---- monitor imports: the only ones in this file (the package layout may change) ----
# isort: split
from monitor.config import DuplicateSettings
from monitor.core.types import ArticleText, Match
from monitor.match.engine import Matcher
from monitor.match.index import compile_index

# isort: split
# -------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
SEED = 1  # every benchmark's default seed
QUICK_SHARE = 0.2  # bench.neardup --quick: a fifth of the articles copied
LOADED_AT = datetime(2024, 1, 1, tzinfo=UTC)  # as bench.neardup loads the quality set
COMPARED_AT = datetime(2024, 1, 2, tzinfo=UTC)  # the stage's clock: only stamps near_at
POLL_FEEDS, POLL_ENTRIES = 100, 10
POLL_TIMEOUT_S = 600.0
TIMINGS = frozenset({"wall_s", "cpu_s"})  # what the CLI's stats report measures, not counts
# Connections the feed server accepted: how the HTTP client's pool happened to open
# them (10 to 32 for the same cycle in two runs), not what was polled.
POOL_NOISE = frozenset({"connections"})


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    articles: int | None  # None: all 2,225
    copy_share: float


FULL = Plan(DEFAULT_SIZES, None, 1.0)
QUICK = Plan(QUICK_SIZES, QUICK_ARTICLES, QUICK_SHARE)


@dataclass(frozen=True)
class Data:
    """The shared data directory: bench's own default, or found above this checkout
    (a git worktree of the project is not where the main checkout is)."""

    root: Path

    @property
    def bbc(self) -> Path:
        return self.root / "bbc"

    @property
    def phoenix(self) -> Path:
        return self.root / "phoenix"

    @classmethod
    def find(cls) -> Data:
        for parent in ROOT.parents:
            candidate = parent / "shared" / "data"
            if (candidate / "bbc").is_dir() and (candidate / "phoenix").is_dir():
                return cls(candidate)
        raise FileNotFoundError(f"no shared/data (with bbc and phoenix) above {ROOT}")


# ---------------------------------------------------------------------------- matching


def matching_lines(data: Data, plan: Plan) -> Iterator[dict[str, Any]]:
    """Per size and article (the benchmark's order), the matches found."""
    articles = read_articles(data.bbc, limit=plan.articles)
    actors = order_actors(read_actors(data.phoenix), SEED)
    # bench.matching.concept_entries, with the data directory given
    concepts = [Entry(name, 3, terms) for name, terms in CONCEPTS.items()]
    concepts += read_agent_concepts(data.phoenix)
    for size in plan.sizes:
        rules = build_rules(size, actors, concepts)
        matcher = Matcher(compile_index(rules.watchlists, languages=("en",), default="en"))
        for article in articles:
            yield _matched(size, article, matcher.match(article))


def _matched(size: int, article: ArticleText, matches: Iterable[Match]) -> dict[str, Any]:
    return {
        "size": size,
        "article": article.article_id,
        "matches": [
            {
                "watchlist": m.watchlist,
                "rule": m.rule,
                "score": m.score,
                "terms": [[t.ref, t.term, [list(hit) for hit in t.hits]] for t in m.terms],
                "snippet": m.snippet,
                "highlights": [list(span) for span in m.highlights],
            }
            for m in matches
        ],
    }


# ---------------------------------------------------------------------------- near


def near_lines(data: Data, plan: Plan) -> Iterator[dict[str, Any]]:
    """Per doc of the quality set, run through the near stage as bench.neardup does."""
    dataset = build_dataset(
        read_bbc(data.bbc), Thesaurus.load(), seed=SEED, copy_share=plan.copy_share
    )
    with tempfile.TemporaryDirectory(prefix="bench-verdicts-") as tmp:
        repo = fresh_repository(f"sqlite:///{tmp}/quality.db")
        try:
            load_docs(repo, add_feed(repo), dataset.docs, LOADED_AT)
            near_stage(repo, DuplicateSettings(), COMPARED_AT).run()
            found, why = verdicts(repo), _reasons(repo)
        finally:
            repo.close()
    doc_of = {article_id(doc.id): doc.id for doc in dataset.docs}
    stories: dict[int, str] = {}  # story id -> smallest doc id in it
    for doc in dataset.docs:
        story = found[article_id(doc.id)][1]
        if story is not None:
            stories[story] = min(stories.get(story, doc.id), doc.id)
    for doc in sorted(dataset.docs, key=lambda d: d.id):
        key = article_id(doc.id)
        original, story = found[key]
        reason, similarity = why[key]
        yield {
            "article": doc.id,
            "copy_of": None if original is None else doc_of[original],
            "reason": reason,
            "similarity": None if similarity is None else json.loads(similarity),
            "story": None if story is None else stories[story],
        }


def _reasons(repo: Any) -> dict[str, tuple[str | None, str | None]]:
    """article id -> why it was judged a copy and the scores behind it (as stored)."""
    query = text("SELECT id, duplicate_reason, similarity FROM articles")
    with repo.engine.connect() as conn:
        return {key: (reason, similarity) for key, reason, similarity in conn.execute(query)}


# ---------------------------------------------------------------------------- polling


def polling(progress: Progress) -> dict[str, Any]:
    """The monitor contender's two cycles on the bench's feed server, counts only."""
    contender = MonitorContender(POLL_TIMEOUT_S)
    contender.prepare(progress)
    with tempfile.TemporaryDirectory(prefix="bench-verdicts-") as tmp:
        workdir = Path(tmp)
        rundir = workdir / "monitor"
        rundir.mkdir()
        with FeedServer(POLL_FEEDS, POLL_ENTRIES, workdir, SEED) as server:
            cycles = contender.run(server, rundir, progress)
        stored = _stored(rundir / "monitor.db")
    return {
        "feeds": POLL_FEEDS,
        "entries": POLL_ENTRIES,
        "cycles": {
            name: {
                "reported": {k: v for k, v in cycle.reported.items() if k not in TIMINGS},
                "server": {k: v for k, v in cycle.server.items() if k not in POOL_NOISE},
                "checks": [[c.name, c.ok, c.detail] for c in cycle.checks],
            }
            for name, cycle in cycles.items()
        },
        "database": stored,
    }


def _stored(path: Path) -> dict[str, Any]:
    """What the database holds after both cycles (plain SQL: no monitor code)."""
    with sqlite3.connect(path) as conn:

        def count(query: str) -> int:
            return int(conn.execute(query).fetchone()[0])

        def by(column: str) -> dict[str, int]:
            query = f"SELECT {column}, count(*) FROM feeds GROUP BY {column}"
            return {str(value): int(n) for value, n in conn.execute(query)}

        return {
            "articles": count("SELECT count(*) FROM articles"),
            "copies_of_articles": count(
                "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL"
            ),
            "sightings": count("SELECT count(*) FROM copies"),
            "feeds": count("SELECT count(*) FROM feeds"),
            "feeds_by_status": by("status"),
            "feeds_by_http_status": by("http_status"),
            "feeds_with_error": count("SELECT count(*) FROM feeds WHERE last_error IS NOT NULL"),
        }


# ---------------------------------------------------------------------------- files


def write_lines(path: Path, lines: Iterable[Mapping[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for line in lines:
            out.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.verdicts", description=__doc__)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--quick", action="store_true", help="the benchmarks' quick data")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    out: Path = args.outdir
    out.mkdir(parents=True, exist_ok=True)
    # The monitor CLI that the polling benchmark runs imports this checkout's code.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))
    )
    data = Data.find()
    console = Console(stderr=True)
    started = time.perf_counter()
    with Progress(console) as progress:
        progress.step(f"matching: sizes {', '.join(map(str, plan.sizes))}")
        lines = write_lines(out / "matching.jsonl", matching_lines(data, plan))
        progress.done(f"matching.jsonl: {lines:,} lines")
        progress.step(f"near: the quality set, {plan.copy_share:.0%} of the articles copied")
        lines = write_lines(out / "near.jsonl", near_lines(data, plan))
        progress.done(f"near.jsonl: {lines:,} lines")
        progress.step(f"polling: {POLL_FEEDS} feeds × {POLL_ENTRIES} entries")
        result = polling(progress)
        text_ = json.dumps(result, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        (out / "polling.json").write_text(text_, encoding="utf-8")
        progress.done("polling.json")
    console.log(f"wrote {out} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
