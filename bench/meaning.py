"""The matching benchmark's rows for concepts matched by meaning (issue 19).

Run by ``python -m bench.matching`` (its driver starts one fresh process a mode, pinned
to one core, as for the lexical sizes): 100 rules naming 100 concepts (the benchmark's
50, described in bench/meaning_concepts.yaml, and the 50 news concepts written there),
over the BBC articles in batches of 200 (``Matcher.match_many``, as the match stage
does), in three modes:

- ``lexical``: the same rules, no model: the baseline of speed and memory;
- ``screen``: meaning with the judge's cheap first test (title + lead) on, its default;
- ``full``: every sentence of every article embedded (the first test off: the bench
  sets ``monitor.meaning.judge.SCREEN_GATE`` to -1, the judge has no parameter for it).

A mode reports articles/s over one timed pass (after one warm-up batch), the model's
load time, the peak RSS of its process, where the time went (encoding the leads, the
sentences, the rest), and its sentence-level meaning hits (article, concept), from
which the driver works out the first test's recall (``recall``).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from bench.matching_data import (
    CONCEPTS,
    Entry,
    build_rules,
    order_actors,
    read_actors,
    read_agent_concepts,
    read_articles,
)
from monitor.core.types import ArticleText
from monitor.match.index import compile_index
from monitor.match.values import Rule, Watchlist

MODES = ("lexical", "screen", "full")
RULES = 100
BATCH = 200  # the match stage's batch (monitor.match.stage)
CONCEPTS_FILE = Path(__file__).with_name("meaning_concepts.yaml")
# The targets: articles/s with the first test, with every sentence, and RSS.
SCREEN_TARGET, FULL_TARGET, RSS_TARGET_MB = 500.0, 20.0, 250.0


def meaning_concepts() -> list[Entry]:
    """100 concepts with descriptions: the benchmark's 21 news concepts and 29 agent
    groups (described in CONCEPTS_FILE), then the 50 written there."""
    data = yaml.safe_load(CONCEPTS_FILE.read_text())
    described: dict[str, str] = data["descriptions"]
    have = [Entry(name, 3, terms) for name, terms in CONCEPTS.items()] + read_agent_concepts()
    new = [
        Entry(name, 3, tuple(spec["terms"]), spec["description"])
        for name, spec in data["concepts"].items()
    ]
    return [replace(e, description=described[e.name]) for e in have] + new


def emit(kind: str, payload: Any) -> None:
    print(f"@{kind} {json.dumps(payload)}", flush=True)


# Timing what the judge encodes -------------------------------------------------------


@dataclass
class TimedEncoder:
    """The model, with the seconds and texts of each encode by phase: the leads (the
    first call of a ``read_many``), the sentences (its second), vetoes (later calls)."""

    inner: Any
    name: str = ""
    dimension: int = 0
    phase: str = "veto"
    seconds: dict[str, float] = field(default_factory=dict)
    texts: dict[str, int] = field(default_factory=dict)

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        t0 = time.perf_counter()
        out: npt.NDArray[np.float32] = self.inner.encode(texts)
        phase = self.phase
        self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - t0
        self.texts[phase] = self.texts.get(phase, 0) + len(texts)
        self.phase = "sentences" if phase == "lead" else phase
        return out


@dataclass
class RecordingJudge:
    """The judge, keeping each batch's readings (for the hits) and timing its encodes."""

    inner: Any
    encoder: TimedEncoder
    readings: list[Any] = field(default_factory=list)
    # what it was asked to read: the matcher passes only the articles some rule could
    # still match by meaning (their required actors named)
    read: list[tuple[str, str]] = field(default_factory=list)

    def read_many(self, articles: Sequence[tuple[str, str]]) -> list[Any]:
        self.encoder.phase = "lead"
        try:
            readings: list[Any] = self.inner.read_many(articles)
        finally:
            self.encoder.phase = "veto"
        self.readings, self.read = readings, list(articles)
        return readings


# The measuring process -----------------------------------------------------------------


def worker(mode: str, model: str, limit: int | None, cpu: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": mode, "pid": os.getpid(), "cpu": _pin(cpu)}
    emit("progress", "reading articles, actors and concepts")
    articles = read_articles(limit=limit)
    concepts = meaning_concepts()
    rules = build_rules(RULES, order_actors(read_actors(), 1), concepts)
    index = compile_index(rules.watchlists, languages=("en",), default="en")
    from monitor.match.engine import Matcher
    from monitor.match.meaning import concept_texts

    texts = concept_texts(rules.watchlists)
    out.update(
        articles=len(articles),
        rules=sum(len(w.rules) for w in rules.watchlists),
        concepts=rules.concepts_used,
        concept_keys=len(texts),
        actors_only_articles=_actors_only(rules.watchlists, articles),
    )
    judge: RecordingJudge | None = None
    if mode == "lexical":
        matcher = Matcher(index)
    else:
        judge = _judge(mode, model, texts, out)
        matcher = Matcher(index, judge, texts)
    emit("progress", f"{mode}: warm-up batch")
    matcher.match_many(articles[:BATCH])
    out["rss_after_warm_up_mb"] = _rss_mb()
    if judge is not None:
        judge.encoder.seconds.clear()
        judge.encoder.texts.clear()
    out.update(_timed_pass(mode, matcher, judge, articles, [k.key for k in texts]))
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not ``ru_maxrss``: Linux keeps across exec the
    peak of the process that forked it, so a child of a driver that imported torch
    (the model's export) showed 321 MB for 95."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pin(cpu: int | None) -> int | None:
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return None
    os.sched_setaffinity(0, {cpu})
    return cpu


def _judge(mode: str, model: str, texts: Sequence[Any], out: dict[str, Any]) -> Any:
    from monitor.meaning import judge as judge_module
    from monitor.meaning.encoder import load_encoder

    if mode == "full":  # every article past the first test: every sentence embedded
        judge_module.SCREEN_GATE = -1.0
    emit("progress", f"{mode}: loading the model")
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    encoder = load_encoder(model, threads=1)
    out["load_s"] = time.perf_counter() - t0
    out["rss_load_mb"] = _rss_mb() - rss0
    timed = TimedEncoder(encoder, encoder.name, encoder.dimension)
    t0 = time.perf_counter()
    judge = judge_module.Judge(timed, texts)
    out["prototypes_s"] = time.perf_counter() - t0
    out["rss_after_prototypes_mb"] = _rss_mb()
    out["prototypes"] = timed.texts.get("veto", 0)
    out["screen_gate"] = judge_module.SCREEN_GATE
    out["model"] = model
    return RecordingJudge(judge, timed)


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _timed_pass(
    mode: str,
    matcher: Any,
    judge: RecordingJudge | None,
    articles: Sequence[ArticleText],
    keys: Sequence[str],
) -> dict[str, Any]:
    """One pass in batches; only ``match_many`` is timed (collecting hits is not)."""
    wall = cpu = 0.0
    matches = screened = 0
    pairs: set[tuple[str, str, str]] = set()
    hits: set[tuple[str, str]] = set()
    started = time.monotonic()
    for at in range(0, len(articles), BATCH):
        batch = articles[at : at + BATCH]
        c0, t0 = time.process_time(), time.perf_counter()
        found = matcher.match_many(batch)
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        matches += sum(map(len, found))
        pairs |= {
            (a.article_id, m.watchlist, m.rule)
            for a, ms in zip(batch, found, strict=True)
            for m in ms
        }
        if judge is not None:
            # not read at all (no rule could match), or screened out by the first test
            screened += len(batch) - len(judge.readings)
            screened += sum(r.screened_out for r in judge.readings)
            ids = {(a.title, a.body): a.article_id for a in batch}
            for text, reading in zip(judge.read, judge.readings, strict=True):
                hits |= {(ids[text], k) for k in keys if reading.hits(k)}
            judge.readings, judge.read = [], []
        done = at + len(batch)
        rate = done / wall if wall else 0.0
        emit(
            "progress",
            f"{mode}: {done:,}/{len(articles):,} articles, {rate:,.1f}/s "
            f"({time.monotonic() - started:.0f} s)",
        )
    out: dict[str, Any] = {
        "wall_s": wall,
        "cpu_s": cpu,
        "articles_per_s": len(articles) / wall if wall else None,
        "articles_per_cpu_s": len(articles) / cpu if cpu else None,
        "cpu_per_wall": cpu / wall if wall else None,
        "matches": matches,
        "pairs": sorted(pairs),
    }
    if judge is not None:
        encoder = judge.encoder
        out.update(
            screened_out=screened,
            hits=sorted(hits),
            encode_s=dict(encoder.seconds),
            encoded=dict(encoder.texts),
        )
    return out


def _actors_only(watchlists: Sequence[Watchlist], articles: Sequence[ArticleText]) -> int:
    """Articles where every actor some rule requires occurs: the only ones where a rule
    naming a concept could match, whatever meaning finds (every rule here needs one)."""
    from monitor.match.engine import Matcher

    stripped = [
        replace(
            w,
            refs=tuple(r for r in w.refs if r.kind == "actor"),
            rules=tuple(
                Rule(rule.name, all=tuple(n for n in rule.all if n.startswith("actor")))
                for rule in w.rules
            ),
        )
        for w in watchlists
    ]
    matcher = Matcher(compile_index(stripped, languages=("en",), default="en"))
    return sum(1 for found in matcher.match_many(articles) if found)


# The driver's side: what the modes' results say together -----------------------------


# One core means one thread: numpy's OpenBLAS otherwise starts a thread a CPU, and on
# one pinned core the judge's float64 products took 20x longer (22.5 s against 1.0 s
# for 200 articles) while they fought over it. ONNX Runtime is given threads=1.
ONE_THREAD = dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), "1")


def model_dir(given: str | None) -> str:
    """The model to measure: ``given``, else the tests' export (which imports torch:
    done here in the driver, so no measured process carries it)."""
    if given:
        return given
    from tests.model import exported_model

    return str(exported_model())


def summary(modes: dict[str, dict[str, Any]], lexical_100: float | None) -> dict[str, Any]:
    """Ratios, the first test's recall, the RSS added by the model, and the targets."""
    lex, screen, full = (modes.get(m, {}) for m in MODES)
    out: dict[str, Any] = {}
    full_hits = {tuple(h) for h in full.pop("hits", [])}
    screen_hits = {tuple(h) for h in screen.pop("hits", [])}
    if full_hits and "articles_per_s" in screen:
        out["recall"] = {
            "full_hits": len(full_hits),
            "screen_hits": len(screen_hits),
            "both": len(full_hits & screen_hits),
            "value": len(full_hits & screen_hits) / len(full_hits),
        }
    lexical_pairs = {tuple(p) for p in lex.pop("pairs", [])}
    for mode in ("screen", "full"):
        pairs = {tuple(p) for p in modes.get(mode, {}).pop("pairs", [])}
        if lexical_pairs and pairs:
            out[f"{mode}_added"] = len(pairs - lexical_pairs)
            out[f"{mode}_dropped"] = len(lexical_pairs - pairs)
    base = lex.get("peak_rss_mb")
    for mode in ("screen", "full"):
        rate, peak = (
            modes.get(mode, {}).get("articles_per_s"),
            modes.get(mode, {}).get("peak_rss_mb"),
        )
        out[f"{mode}_rss_added_mb"] = peak - base if peak and base else None
        out[f"{mode}_over_lexical"] = rate / lex["articles_per_s"] if rate and lex else None
        out[f"{mode}_over_lexical_100"] = rate / lexical_100 if rate and lexical_100 else None
    recall = out.get("recall", {}).get("value")
    out["targets"] = [
        _target(f"≥ {SCREEN_TARGET:,.0f} articles/s, first test on", screen, SCREEN_TARGET),
        _target(f"≥ {FULL_TARGET:,.0f} articles/s, every sentence", full, FULL_TARGET),
        {
            "target": f"peak RSS with the model ≤ +{RSS_TARGET_MB:.0f} MB",
            "value": out["screen_rss_added_mb"],
            "met": None
            if out["screen_rss_added_mb"] is None
            else out["screen_rss_added_mb"] <= RSS_TARGET_MB,
        },
        {"target": "first test's recall of sentence-level hits", "value": recall, "met": None},
    ]
    return out


def _target(label: str, mode: dict[str, Any], threshold: float) -> dict[str, Any]:
    rate = mode.get("articles_per_s")
    return {"target": label, "value": rate, "met": None if rate is None else rate >= threshold}


COLUMNS = (
    "mode (100 concepts, 100 rules)",
    "articles/s",
    "articles/CPU-s",
    "× lexical (same rules)",
    "× lexical 100 rules row",
    "load s (+ prototypes)",
    "peak RSS MB (Δ lexical)",
    "screened out",
    "encode s: leads / sentences / vetoes",
    "matches (+ added / − dropped)",
)
LABELS = {
    "lexical": "lexical, same rules, no model",
    "screen": "meaning, first test on (default)",
    "full": "meaning, every sentence embedded",
}


def rows(modes: dict[str, dict[str, Any]], summary: dict[str, Any]) -> list[list[str]]:
    out = []
    for mode in MODES:
        r = modes.get(mode)
        if r is None:
            continue
        if r.get("fatal"):
            out.append([LABELS[mode], "failed", *[""] * (len(COLUMNS) - 2)])
            continue
        is_meaning = mode != "lexical"
        peak = f"{r['peak_rss_mb']:.0f}"
        if is_meaning and summary.get(f"{mode}_rss_added_mb") is not None:
            peak += f" (+{summary[f'{mode}_rss_added_mb']:.0f})"
        seconds = r.get("encode_s", {})
        encode = " / ".join(f"{seconds.get(p, 0.0):.1f}" for p in ("lead", "sentences", "veto"))
        matches = f"{r['matches']:,}"
        if is_meaning and f"{mode}_added" in summary:
            matches += f" (+{summary[f'{mode}_added']} / −{summary[f'{mode}_dropped']})"
        out.append(
            [
                LABELS[mode],
                _num(r.get("articles_per_s"), "{:,.1f}"),
                _num(r.get("articles_per_cpu_s"), "{:,.1f}"),
                _num(summary.get(f"{mode}_over_lexical"), "{:.4f}×") if is_meaning else "1×",
                _num(summary.get(f"{mode}_over_lexical_100"), "{:.4f}×") if is_meaning else "",
                f"{r['load_s']:.2f} (+{r['prototypes_s']:.2f})" if is_meaning else "—",
                peak,
                f"{r['screened_out']:,} / {r['articles']:,}" if is_meaning else "—",
                encode if is_meaning else "—",
                matches,
            ]
        )
    return out


def _num(value: float | None, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def notes(modes: dict[str, dict[str, Any]], summary: dict[str, Any]) -> list[str]:
    out = []
    recall = summary.get("recall")
    if recall:
        out.append(
            f"first test's recall: {recall['both']:,} of the {recall['full_hits']:,} "
            "sentence-level meaning hits (article, concept) found with every sentence "
            f"embedded are found with the first test on: {recall['value']:.3f}"
        )
    some = next((r for r in modes.values() if "actors_only_articles" in r), None)
    if some:
        out.append(
            f"articles where some rule's actors all occur (the only ones where a rule naming "
            f"a concept can match, as every rule here requires an actor): "
            f"{some['actors_only_articles']:,} of {some['articles']:,}; the matcher reads "
            "only those by meaning (counted as screened out: the others)"
        )
    for mode in ("screen", "full"):
        r = modes.get(mode, {})
        if "encoded" in r:
            n = r["encoded"]
            out.append(
                f"{mode}: encoded {n.get('lead', 0):,} leads, {n.get('sentences', 0):,} "
                f"sentences, {n.get('veto', 0):,} veto sentences; {r['prototypes']:,} "
                f"prototypes at load; first-test gate {r['screen_gate']}"
            )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.meaning --worker MODE [--model DIR] [--articles N] [--cpu C]``"""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.meaning")
    parser.add_argument("--worker", choices=MODES, required=True)
    parser.add_argument("--model", required=True, help="the int8 ONNX model's directory")
    parser.add_argument("--articles", type=int)
    parser.add_argument("--cpu", type=int)
    args = parser.parse_args(argv)
    return run_worker(lambda: worker(args.worker, args.model, args.articles, args.cpu))


def run_worker(work: Callable[[], dict[str, Any]]) -> int:
    import traceback

    try:
        result = work()
    except Exception as exc:
        emit("result", {"fatal": f"{exc!r}\n{traceback.format_exc()}"})
        return 1
    emit("result", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
