"""Recall of the near stage on spinner families it was not tuned on, next to MinHash LSH.

python -m bench.neardup_families [--sample N] [--seed S] [--bbc DIR] [--out DIR]

A seeded sample of BBC originals, then copies of each: today's spinner
(bench/neardup_data.spin) and the thesaurus spinner of bench/neardup_thesaurus at 30 %
and 50 %, each also crossed with a dropped paragraph and a new headline. Originals go
first, copies after (as published), through the near stage the daemon runs on SQLite.
A copy is recognised when its original (followed through copies) is its source or one
of the BBC's own duplicates of it. The baseline: datasketch's MinHash LSH over word
2-shingles (128 permutations) at Jaccard 0.5 (its default) and 0.2, fed the same order.
Results: bench/results/neardup-families.{json,md}.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from datasketch import MinHash, MinHashLSH  # type: ignore[import-untyped]
from rich.console import Console

from bench.neardup_data import BBC, Doc, Source, Thesaurus, duplicate_groups, read_bbc, spin
from bench.neardup_db import add_feed, article_id, fresh_repository, load_docs, near_stage
from bench.neardup_db import verdicts as read_verdicts
from bench.neardup_thesaurus import WordNet, cut, spin_all
from bench.results import RESULTS, machine_info, write_pair
from monitor.config import DuplicateSettings

START = datetime(2005, 1, 1, tzinfo=UTC)
THRESHOLDS = (0.5, 0.2)
TOKEN = re.compile(r"[a-z0-9]+")
Maker = Callable[[Source, random.Random], tuple[str, tuple[str, ...]]]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    console = Console(stderr=True)
    sources = read_bbc(args.bbc)
    sample = sorted(
        random.Random(args.seed).sample(sources, min(args.sample, len(sources))), key=lambda s: s.id
    )
    console.print(f"{len(sample)} originals; loading WordNet twice (each spinner its own reader)")
    kinds = _kinds(Thesaurus.load(), WordNet.load())
    docs = _docs(sample, kinds, args.seed)
    console.print(f"{len(docs)} articles through the near stage")
    groups = {m: set(g) for g in duplicate_groups(sample) for m in g}
    monitor = _monitor(docs, groups)
    console.print("MinHash LSH")
    minhash = {t: _minhash(docs, groups, t) for t in THRESHOLDS}
    result = {
        "changed": _changed(docs),
        "machine": machine_info(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "originals": len(sample),
        "seed": args.seed,
        "monitor": monitor,
        "minhash": {str(t): v for t, v in minhash.items()},
    }
    text = _markdown(result)
    write_pair(args.out, "neardup-families", result, text)
    Console().print(text)
    return 0


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.neardup_families", description=__doc__)
    default_bbc = BBC if BBC.is_dir() else Path("/work/shared/data/bbc")
    parser.add_argument("--sample", type=int, default=2225, help="BBC originals (all: 2225)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bbc", type=Path, default=default_bbc)
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------- copies


def _kinds(thesaurus: Thesaurus, wordnet: WordNet) -> dict[str, Maker]:
    def today(rate: float, crossed: bool) -> Maker:
        def make(source: Source, rng: random.Random) -> tuple[str, tuple[str, ...]]:
            parts = spin((source.title, *source.paragraphs), rate, rng, thesaurus).parts
            return cut(parts[0], parts[1:], rng) if crossed else (parts[0], parts[1:])

        return make

    def thesaurus2(rate: float, crossed: bool) -> Maker:
        def make(source: Source, rng: random.Random) -> tuple[str, tuple[str, ...]]:
            parts = spin_all((source.title, *source.paragraphs), rate, rng, wordnet).parts
            return cut(parts[0], parts[1:], rng) if crossed else (parts[0], parts[1:])

        return make

    kinds: dict[str, Maker] = {}
    for family, factory in (("today", today), ("thesaurus2", thesaurus2)):
        for rate in (0.3, 0.5):
            for crossed in (False, True):
                name = f"{family} {rate:.0%}{' + cut + retitle' if crossed else ''}"
                kinds[name] = factory(rate, crossed)
    return kinds


def _docs(sample: Sequence[Source], kinds: dict[str, Maker], seed: int) -> list[Doc]:
    """Originals a minute apart, then the copies from an hour after the last original,
    a second apart: all within the near stage's windows (30 days; stories 14)."""
    docs = [
        Doc(
            s.id,
            s.title,
            "\n\n".join(s.paragraphs),
            START + timedelta(minutes=i),
            s.id,
            "original",
            None,
        )
        for i, s in enumerate(sample)
    ]
    later = START + timedelta(minutes=len(sample) + 60)
    for name, make in kinds.items():
        for source in sample:
            rng = random.Random(f"{seed}:{source.id}:{name}")
            title, body = make(source, rng)
            later += timedelta(seconds=1)
            docs.append(
                Doc(f"{source.id}~{name}", title, "\n\n".join(body), later, source.id, name, None)
            )
    return docs


# ---------------------------------------------------------------------------- detectors


def _monitor(docs: Sequence[Doc], groups: dict[str, set[str]]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        repo = fresh_repository(f"sqlite:///{tmp}/families.db")
        try:
            load_docs(repo, add_feed(repo), docs, datetime(2024, 1, 1, tzinfo=UTC))
            near_stage(repo, DuplicateSettings(), datetime.now(UTC)).run()
            found = read_verdicts(repo)
        finally:
            repo.close()
    by_article = {article_id(d.id): d for d in docs}

    def root(doc: Doc) -> Doc:
        seen = 0
        while (up := found[article_id(doc.id)][0]) and up in by_article and seen < 10:
            doc, seen = by_article[up], seen + 1
        return doc

    story = {d.id: found[article_id(d.id)][1] for d in docs}
    rows: dict[str, dict[str, int]] = {}
    for doc in docs:
        row = rows.setdefault(doc.transform, {"articles": 0, "copies": 0, "stories": 0})
        row["articles"] += 1
        fellows = groups.get(doc.source_id, {doc.source_id})
        if doc.transform == "original":
            row["copies"] += root(doc).id != doc.id  # an original taken for a copy
            continue
        row["copies"] += root(doc).id in fellows
        row["stories"] += story[doc.id] is not None and story[doc.id] == story[doc.source_id]
    return rows


def _changed(docs: Sequence[Doc]) -> dict[str, float]:
    """Per kind, the mean share of the original's words (as a bag) missing from the copy:
    the two families count their rates differently (content words, all words)."""
    bags = {d.id: Counter(TOKEN.findall(f"{d.title} {d.text}".lower())) for d in docs}
    shares: dict[str, list[float]] = {}
    for doc in docs:
        if doc.transform != "original":
            original = bags[doc.source_id]
            kept = sum((original & bags[doc.id]).values())
            shares.setdefault(doc.transform, []).append(1 - kept / max(1, original.total()))
    return {kind: round(sum(v) / len(v), 3) for kind, v in shares.items()}


def _shingles(doc: Doc) -> set[str]:
    words = TOKEN.findall(f"{doc.title}\n{doc.text}".lower())
    return {f"{a} {b}" for a, b in itertools.pairwise(words)}


def _minhash(docs: Sequence[Doc], groups: dict[str, set[str]], threshold: float) -> dict[str, Any]:
    """Each article queried against those before it, then inserted: a stream. The LSH's
    candidates are kept when their estimated Jaccard reaches the threshold too, the
    usual check (the banding alone lets through many pairs far below it)."""
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    sketches: dict[str, MinHash] = {}
    rows: dict[str, dict[str, int]] = {}
    source_of = {d.id: d.source_id for d in docs}
    for doc in docs:
        sketch = MinHash(num_perm=128, seed=1)
        sketch.update_batch([s.encode() for s in _shingles(doc)])
        hits = {
            source_of[key]
            for key in lsh.query(sketch)
            if sketch.jaccard(sketches[key]) >= threshold
        }
        fellows = groups.get(doc.source_id, {doc.source_id})
        row = rows.setdefault(doc.transform, {"articles": 0, "copies": 0, "wrong": 0})
        row["articles"] += 1
        row["copies"] += bool(hits & fellows) if doc.transform != "original" else bool(hits)
        row["wrong"] += bool(hits - fellows)
        lsh.insert(doc.id, sketch)
        sketches[doc.id] = sketch
    return rows


# ---------------------------------------------------------------------------- report


def _markdown(result: dict[str, Any]) -> str:
    monitor, minhash = result["monitor"], result["minhash"]
    head = "| copies | n | words changed | monitor recall | monitor: in the original's story |"
    head += "".join(f" MinHash LSH J≥{t} recall (wrong hits) |" for t in minhash)
    lines = [
        "# Near duplicates: spinner families",
        "",
        f"{result['originals']:,} BBC originals (seed {result['seed']}), then their copies; "
        f"{result['started']}, {result['machine'].get('cpu_model', '')}.",
        "`python -m bench.neardup_families`; recall = copies put with their original.",
        "",
        head,
        "|" + " --- |" * (5 + len(minhash)),
    ]
    for kind, row in monitor.items():
        n = row["articles"]
        if kind == "original":
            continue
        changed = result["changed"][kind]
        cells = [
            kind,
            f"{n:,}",
            f"{changed:.0%}",
            f"{row['copies'] / n:.3f}",
            f"{row['stories'] / n:.3f}",
        ]
        for rows in minhash.values():
            m = rows[kind]
            cells.append(f"{m['copies'] / n:.3f} ({m['wrong']})")
        lines.append("| " + " | ".join(cells) + " |")
    originals = monitor["original"]
    lines += [
        "",
        f"Originals taken for copies of another original: monitor {originals['copies']}; "
        + ", ".join(f"MinHash J≥{t} {rows['original']['copies']}" for t, rows in minhash.items())
        + " (the BBC's own near-duplicates among them are true pairs).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
