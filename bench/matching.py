"""Watchlist matching benchmark: articles per second and memory for 100 to 100,000 rules.

python -m bench.matching [--sizes 100,1000,10000,100000] [--articles N] [--quick]

Each rule-set size runs in a fresh subprocess (so its memory is its own), pinned to
one core: compile the index, match every BBC article (one warm-up pass, best of three
timed passes), then the naive one-regular-expression-per-rule approach on a sample.
See bench/README.md ("Matching benchmark") for how the rule sets are built.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
import traceback
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.text import Text

from bench import meaning
from bench.matching_data import (
    BBC,
    CONCEPTS,
    PHOENIX,
    Entry,
    NaiveMatcher,
    Skipped,
    build_rules,
    order_actors,
    read_actors,
    read_agent_concepts,
    read_articles,
)
from bench.results import RESULTS, ROOT, exit_status, git, machine_info, write_pair
from bench.tables import TARGET_COLUMNS, Table, dash, mark, rich_table
from bench.ui import Progress

DEFAULT_SIZES = (100, 1_000, 10_000, 100_000)
QUICK_SIZES = (100, 1_000)
QUICK_ARTICLES = 300
TIMED_PASSES = 3
NAIVE_MIN_ARTICLES = 20  # fewer than this in the budget: the size is skipped
NAIVE_PROBE = 5  # articles timed (spread over the topics) to size the naive sample
MB = 1024 * 1024
BUSY_CPU_SHARE = 0.90  # timed passes with CPU / wall below this shared their core
# (label, kind, size(s), threshold)
TARGETS = (
    ("≥ 5,000 articles/s at 10,000 rules", "rate", (10_000,), 5_000.0),
    ("throughput at 100,000 rules ≥ ½ of that at 100 rules", "scaling", (100_000, 100), 0.5),
    ("≥ 50× the naive approach at 10,000 rules", "naive", (10_000,), 50.0),
)


# The measuring subprocess -----------------------------------------------------------


def _emit(kind: str, payload: Any) -> None:
    print(f"@{kind} {json.dumps(payload)}", flush=True)


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss / MB)


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _cpu_s() -> float:
    return time.process_time()


def concept_entries() -> list[Entry]:
    """The hand-written news concepts, then the agent-noun groups of Phoenix."""
    return [Entry(name, 3, terms) for name, terms in CONCEPTS.items()] + read_agent_concepts()


CODE_DIRS = ("monitor/match", "monitor/watchlist")  # the code under measurement


def code_digest() -> str:
    """A short hash of the matcher's source, to tell which code a size measured (the
    files may be edited while the benchmark runs)."""
    digest = hashlib.sha256()
    for directory in CODE_DIRS:
        for path in sorted((ROOT / directory).glob("*.py*")):  # .py, .pyx, .pyi
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def git_state() -> dict[str, Any]:
    return {
        "head": git("rev-parse", "--short", "HEAD") or None,
        "matcher_uncommitted": bool(git("status", "--porcelain", "--", *CODE_DIRS)),
    }


def _pin(cpu: int | None) -> int | None:
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return None
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return None
    return cpu


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Everything measured for one rule-set size, in this (fresh) process."""
    size: int = args.worker
    out: dict[str, Any] = {"size": size, "pid": os.getpid(), "errors": []}
    out["cpu"] = _pin(args.cpu)
    out["code_digest"] = code_digest()

    def progress(text: str) -> None:
        _emit("progress", text)

    progress("reading articles, actors and concepts")
    articles = read_articles(limit=args.articles)
    actors = order_actors(read_actors(), args.seed)
    concepts = concept_entries()
    skipped = Skipped()
    rules = build_rules(size, actors, concepts, skipped)
    out.update(
        articles=len(articles),
        watchlists=len(rules.watchlists),
        rules=sum(len(w.rules) for w in rules.watchlists),
        actors_used=rules.actors_used,
        concepts_used=rules.concepts_used,
        actor_terms=rules.aliases,
        concept_terms=rules.concept_terms,
        refused_terms=skipped.count,
        refused_examples=skipped.examples or [],
    )

    from monitor.match.engine import Matcher
    from monitor.match.index import compile_index

    progress(f"compiling {out['rules']:,} rules in {out['watchlists']} watchlists")
    gc.collect()
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    index = compile_index(rules.watchlists, languages=("en",), default="en")
    out["compile_s"] = time.perf_counter() - t0
    gc.collect()
    rss1 = _rss_mb()
    out.update(
        rss_before_mb=rss0,
        rss_after_compile_mb=rss1,
        index_rss_mb=rss1 - rss0,
        patterns=len(index.patterns),
        refs=len(index.refs),
        always_rules=len(index.always),
    )
    matcher = Matcher(index)

    # Warm-up pass: fills the stem cache; records every match and every exception.
    found: dict[str, list[tuple[str, str]]] = {}
    failed: set[str] = set()
    tick = time.monotonic()
    for n, article in enumerate(articles):
        try:
            found[article.article_id] = [(m.watchlist, m.rule) for m in matcher.match(article)]
        except Exception as exc:  # reported, never hidden
            failed.add(article.article_id)
            if len(out["errors"]) < 5:
                out["errors"].append(
                    f"Matcher.match({article.article_id}) raised {exc!r}: "
                    + traceback.format_exc(limit=-3).strip().replace("\n", " | ")
                )
        if time.monotonic() - tick > 0.5:
            tick = time.monotonic()
            progress(f"warm-up pass: {n + 1:,}/{len(articles):,} articles")
    out["failed_articles"] = len(failed)
    good = [a for a in articles if a.article_id not in failed]
    out["matches"] = sum(len(v) for v in found.values())
    out["matched_articles"] = sum(1 for v in found.values() if v)

    passes = []
    for k in range(TIMED_PASSES):
        progress(f"timed pass {k + 1}/{TIMED_PASSES} over {len(good):,} articles")
        count = 0
        c0, t0 = _cpu_s(), time.perf_counter()
        for article in good:
            count += len(matcher.match(article))
        wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
        passes.append({"wall_s": wall, "cpu_s": cpu, "matches": count})
    best = min(passes, key=lambda p: p["wall_s"])
    least_cpu = min(p["cpu_s"] for p in passes)
    out.update(
        passes=passes,
        best_s=best["wall_s"],
        articles_per_s=len(good) / best["wall_s"] if best["wall_s"] > 0 else None,
        articles_per_cpu_s=len(good) / least_cpu if least_cpu > 0 else None,
        cpu_per_wall=best["cpu_s"] / best["wall_s"] if best["wall_s"] > 0 else None,
        matches_consistent=all(p["matches"] == out["matches"] for p in passes),
        peak_rss_mb=_max_rss_mb(),
    )
    del matcher, index
    gc.collect()

    out["naive"] = _naive(rules.plain, articles, size, args, progress)
    if args.agreement and "pairs" in out["naive"]:
        out["agreement"] = _agreement(found, out["naive"].pop("pairs"), out["naive"]["ids"])
    out["naive"].pop("pairs", None)
    out["naive"].pop("ids", None)

    if args.tracemalloc:
        progress("compiling again under tracemalloc")
        gc.collect()
        tracemalloc.start()
        t0 = time.perf_counter()
        index = compile_index(rules.watchlists, languages=("en",), default="en")
        traced_s = time.perf_counter() - t0
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out.update(traced_kept_mb=current / MB, traced_peak_mb=peak / MB, traced_compile_s=traced_s)
        del index
    return out


def _spread(items: list[Any], n: int) -> list[Any]:
    """``n`` items spread evenly over ``items`` (all five topics, not the first one)."""
    if n <= 0:
        return []
    step = max(1, len(items) // n)
    return items[::step][:n]


def _naive(
    plain: list[Any],
    articles: list[Any],
    size: int,
    args: argparse.Namespace,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    out: dict[str, Any] = {"budget_s": args.naive_budget}
    most = min(args.naive_articles, len(articles))
    if most < 1:
        out["skipped"] = "disabled (--naive-articles 0)"
        return out
    if args.naive_hint:  # seconds per article per rule, from the previous size
        per_article = args.naive_hint * size
        out["extrapolated_s_per_article"] = per_article
        if per_article * NAIVE_MIN_ARTICLES > args.naive_budget:  # not worth compiling
            out["skipped"] = _too_slow(per_article, args.naive_budget, "extrapolated")
            return out
    progress(f"naive: compiling {len(plain):,} rules' regular expressions")
    gc.collect()
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    naive = NaiveMatcher(plain)
    out["compile_s"] = time.perf_counter() - t0
    out["rss_mb"] = _rss_mb() - rss0
    out["regexes"] = sum(len(a) + len(b) for _, _, a, b in naive.rules)
    # Time a few articles (a warm-up too), then take as many as fit in the budget.
    probe = _spread(articles, min(NAIVE_PROBE, most))
    t0 = time.perf_counter()
    for article in probe:
        list(naive.match(article))
    per_article = (time.perf_counter() - t0) / len(probe)
    out["probed_s_per_article"] = per_article
    fits = int(args.naive_budget / per_article)
    if fits < min(NAIVE_MIN_ARTICLES, most):
        out["skipped"] = _too_slow(per_article, args.naive_budget, "probed")
        return out
    sample = _spread(articles, min(most, fits))  # spread over the five topics
    pairs: list[tuple[str, str, str]] = []
    tick = time.monotonic()
    c0, t0 = _cpu_s(), time.perf_counter()
    for n, article in enumerate(sample):
        pairs += [(article.article_id, w, r) for w, r in naive.match(article)]
        if time.monotonic() - tick > 0.5:
            tick = time.monotonic()
            progress(f"naive: {n + 1}/{len(sample)} articles")
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    out.update(
        articles=len(sample),
        wall_s=wall,
        cpu_s=cpu,
        articles_per_s=len(sample) / wall,
        s_per_article_per_rule=wall / len(sample) / max(1, len(plain)),
        matches=len(pairs),
        pairs=pairs,
        ids=[a.article_id for a in sample],
    )
    return out


def _too_slow(per_article: float, budget: float, how: str) -> str:
    source = {
        "extrapolated": "extrapolated from the previous size",
        "probed": f"timed on {NAIVE_PROBE} articles",
    }[how]
    needed = per_article * NAIVE_MIN_ARTICLES
    return (
        f"{per_article:.1f} s an article ({source}): {NAIVE_MIN_ARTICLES} articles would take "
        f"~{needed:.0f} s, over the {budget:g} s budget"
    )


def _agreement(
    found: dict[str, list[tuple[str, str]]], naive_pairs: list[Any], ids: list[str]
) -> dict[str, Any]:
    """Which (article, rule) pairs both matchers found, on the naive sample."""
    mon = {(a, w, r) for a in ids for w, r in found.get(a, [])}
    nai = {tuple(p) for p in naive_pairs}
    both, either = mon & nai, mon | nai
    return {
        "articles": len(ids),
        "monitor": len(mon),
        "naive": len(nai),
        "both": len(both),
        "monitor_only": len(mon - nai),
        "naive_only": len(nai - mon),
        "agreement_pct": 100.0 * len(both) / len(either) if either else 100.0,
        "monitor_only_examples": sorted(mon - nai)[:8],
        "naive_only_examples": sorted(nai - mon)[:8],
    }


def worker_main(args: argparse.Namespace) -> int:
    try:
        result = worker(args)
    except Exception as exc:
        _emit("result", {"size": args.worker, "fatal": f"{exc!r}\n{traceback.format_exc()}"})
        return 1
    _emit("result", result)
    return 0


# The driver -------------------------------------------------------------------------


def _idlest_cpu() -> int | None:
    """The allowed CPU that was the least busy over the last half second."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    busy = psutil.cpu_percent(interval=0.5, percpu=True)
    return min(allowed, key=lambda c: (busy[c] if c < len(busy) else 100.0, -c))


def run_size(
    size: int,
    args: argparse.Namespace,
    naive_hint: float | None,
    progress: Progress,
) -> dict[str, Any]:
    cpu = None if args.no_pin else args.cpu if args.cpu is not None else _idlest_cpu()
    cmd = [
        sys.executable,
        "-m",
        "bench.matching",
        "--worker",
        str(size),
        "--seed",
        str(args.seed),
        "--naive-articles",
        str(args.naive_articles),
        "--naive-budget",
        str(args.naive_budget),
    ]
    if args.articles is not None:
        cmd += ["--articles", str(args.articles)]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    if naive_hint:
        cmd += ["--naive-hint", repr(naive_hint)]
    if size == args.agreement_size:
        cmd += ["--agreement"]
    if not args.tracemalloc:
        cmd += ["--no-tracemalloc"]
    return spawn(cmd, {"size": size}, cpu, args.timeout, progress)


def spawn(
    cmd: list[str],
    key: dict[str, Any],
    cpu: int | None,
    timeout: float,
    progress: Progress,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run a measuring subprocess; its @progress lines shown, its @result returned (with
    ``key``, and "fatal" when it gave none)."""
    load_before = [round(x, 2) for x in os.getloadavg()]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    stderr: list[str] = []
    reader = threading.Thread(
        target=lambda: stderr.append(proc.stderr.read() if proc.stderr else "")
    )
    reader.start()
    result: dict[str, Any] | None = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            kind, _, payload = line.rstrip("\n").partition(" ")
            if kind == "@progress":
                elapsed = time.perf_counter() - t0
                progress.update(f"[{elapsed:.0f} s] {json.loads(payload)}")
            elif kind == "@result":
                result = json.loads(payload)
        proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join()
    wall = time.perf_counter() - t0
    if result is None:
        tail = "".join(stderr).strip().splitlines()[-5:]
        timed_out = wall >= timeout
        reason = f"timed out after {timeout:g} s" if timed_out else f"exit {proc.returncode}"
        result = {"fatal": f"{reason}: " + " | ".join(tail)}
    result.update(
        key,
        process_wall_s=wall,
        loadavg_before=load_before,
        cpu_requested=cpu,
        returncode=proc.returncode,
    )
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def run_meaning(mode: str, args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    """One mode of the meaning rows (bench/meaning.py) in a fresh pinned process."""
    cpu = None if args.no_pin else args.cpu if args.cpu is not None else _idlest_cpu()
    cmd = [sys.executable, "-m", "bench.meaning", "--worker", mode, "--model", args.model]
    if args.articles is not None:
        cmd += ["--articles", str(args.articles)]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    return spawn(cmd, {"mode": mode}, cpu, args.meaning_timeout, progress, meaning.ONE_THREAD)


def _by_size(results: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {r["size"]: r for r in results if not r.get("fatal")}


def _rate(r: dict[str, Any] | None) -> float | None:
    return None if r is None else r.get("articles_per_s")


def _naive_rate(r: dict[str, Any] | None) -> float | None:
    return None if r is None else r.get("naive", {}).get("articles_per_s")


def build_result(
    args: argparse.Namespace,
    machine: dict[str, Any],
    data: dict[str, Any],
    results: list[dict[str, Any]],
    elapsed: float,
    code: dict[str, Any] | None = None,
    modes: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    sizes = _by_size(results)
    modes = modes or {}
    code = dict(code or {})
    seen = [code.get("digest_at_start"), *(r.get("code_digest") for r in results)]
    code["changed_during_run"] = len({d for d in seen if d}) > 1
    ratios: dict[str, Any] = {"monitor_over_naive": {}}
    for size, r in sizes.items():
        mon, nai = _rate(r), _naive_rate(r)
        ratios["monitor_over_naive"][str(size)] = mon / nai if mon and nai else None
    lo, hi = min(sizes, default=None), max(sizes, default=None)
    if lo is not None and hi is not None and lo != hi:
        mon_lo, mon_hi = _rate(sizes[lo]), _rate(sizes[hi])
        ratios["largest_over_smallest"] = {
            "sizes": [hi, lo],
            "ratio": mon_hi / mon_lo if mon_lo and mon_hi else None,
        }
    targets = []
    for label, kind, where, threshold in TARGETS:
        value: float | None = None
        if kind == "rate":
            value = _rate(sizes.get(where[0]))
        elif kind == "scaling":
            big, small = (_rate(sizes.get(s)) for s in where)
            value = big / small if big and small else None
        else:
            value = ratios["monitor_over_naive"].get(str(where[0]))
        met = None if value is None else value >= threshold
        targets.append({"target": label, "value": value, "threshold": threshold, "met": met})
    valid = all(
        not r.get("fatal") and not r.get("errors") and r.get("matches_consistent", False)
        for r in results
    ) and not any(r.get("fatal") for r in modes.values())
    return {
        "benchmark": "matching",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "params": {
            "sizes": list(args.sizes),
            "articles": args.articles,
            "quick": args.quick,
            "seed": args.seed,
            "naive_articles": args.naive_articles,
            "naive_budget_s": args.naive_budget,
            "agreement_size": args.agreement_size,
            "timed_passes": TIMED_PASSES,
            "pinned": not args.no_pin,
        },
        "machine": machine,
        "code": code,
        "data": data,
        "sizes": results,
        "ratios": ratios,
        "targets": targets,
        "meaning": {"modes": modes, "summary": meaning.summary(modes, _rate(sizes.get(100)))}
        if modes
        else None,
        "valid": valid,
        "elapsed_s": elapsed,
    }


def _f(value: float | None, fmt: str = "{:,.0f}") -> str:
    return dash(value, fmt)


COLUMNS = (
    "rules",
    "watchlists",
    "patterns",
    "compile s",
    "index MB (RSS Δ)",
    "traced MB kept / peak",
    "articles/s",
    "articles/CPU-s",
    "CPU/wall",
    "matches",
    "naive articles/s (sample)",
    "monitor / naive",
)
MARK_COLOURS = {"✓": "green", "✗": "red"}
# The terminal table leaves out watchlists, patterns and the CPU columns (in the Markdown).
CONSOLE = (
    ("rules", 0),
    ("compile s", 3),
    ("index MB", 4),
    ("traced MB", 5),
    ("articles/s", 6),
    ("matches", 9),
    ("naive /s (n)", 10),
    ("× naive", 11),
)


def rows(result: dict[str, Any]) -> list[list[str]]:
    out = []
    for r in result["sizes"]:
        if r.get("fatal"):
            out.append([f"{r['size']:,}", "failed", *([""] * (len(COLUMNS) - 2))])
            continue
        naive = r.get("naive", {})
        if "articles_per_s" in naive:
            naive_s = f"{naive['articles_per_s']:,.1f} ({naive['articles']})"
        else:
            naive_s = "skipped" if naive.get("skipped") else "—"
        ratio = result["ratios"]["monitor_over_naive"].get(str(r["size"]))
        traced = (
            f"{r['traced_kept_mb']:.0f} / {r['traced_peak_mb']:.0f}"
            if "traced_kept_mb" in r
            else "—"
        )
        matches = f"{r['matches']:,}"
        if r.get("failed_articles"):
            matches += f" ({r['failed_articles']} raised)"
        out.append(
            [
                f"{r['size']:,}",
                str(r["watchlists"]),
                f"{r['patterns']:,}",
                _f(r.get("compile_s"), "{:.2f}"),
                _f(r.get("index_rss_mb"), "{:.0f}"),
                traced,
                _f(_rate(r)),
                _f(r.get("articles_per_cpu_s")),
                _f(r.get("cpu_per_wall"), "{:.2f}"),
                matches,
                naive_s,
                _f(ratio, "{:,.0f}×"),
            ]
        )
    return out


def _target_rows(result: dict[str, Any]) -> list[list[str]]:
    out = []
    for t in result["targets"]:
        value = t["value"]
        shown = "not measured" if value is None else f"{value:,.2f}"
        out.append([mark(t["met"]), t["target"], shown])
    return out


def _notes(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(style, text): the text is plain, never rich markup (errors may hold brackets)."""
    notes: list[tuple[str, str]] = []
    code = result.get("code", {})
    if code.get("changed_during_run"):
        digests = ", ".join(f"{r['size']:,}: {r.get('code_digest')}" for r in result["sizes"])
        text = (
            f"the matcher's source ({', '.join(CODE_DIRS)}) changed during the run "
            f"(digest at start {code.get('digest_at_start')}; per size {digests}): "
            "the sizes measured different code"
        )
        notes.append(("red", text))
    ratio = result["ratios"].get("largest_over_smallest")
    if ratio and ratio["ratio"] is not None:
        hi, lo = ratio["sizes"]
        text = f"throughput at {hi:,} rules / at {lo:,} rules: {ratio['ratio']:.2f}"
        notes.append(("", f"{text} ({ratio['ratio'] * 100:.0f} %)"))
    for r in result["sizes"]:
        if r.get("fatal"):
            notes.append(("red", f"{r['size']:,} rules FAILED: {r['fatal'].strip()}"))
            continue
        skipped = r.get("naive", {}).get("skipped")
        if skipped:
            notes.append(("", f"naive at {r['size']:,} rules skipped: {skipped}"))
        agreement = r.get("agreement")
        if agreement:
            text = (
                f"agreement at {r['size']:,} rules on {agreement['articles']} articles: "
                f"{agreement['agreement_pct']:.0f} % of matched (article, rule) pairs "
                f"found by both (both {agreement['both']}, monitor only "
                f"{agreement['monitor_only']}, naive only {agreement['naive_only']}; they "
                "differ by design: monitor stems and applies NEAR/5 to multi-word concept terms)"
            )
            notes.append(("", text))
        for error in r.get("errors", []):
            notes.append(("red", f"matcher error at {r['size']:,} rules: {error}"))
        if not r.get("matches_consistent", True):
            notes.append(("red", f"match counts differ between passes at {r['size']:,} rules"))
        share = r.get("cpu_per_wall")
        if share is not None and share < BUSY_CPU_SHARE:
            text = (
                f"warning: at {r['size']:,} rules the timed passes got {share:.0%} of "
                "their core (other work ran on it): articles/s is understated "
                f"(articles per CPU second: {_f(r.get('articles_per_cpu_s'))})"
            )
            notes.append(("yellow", text))
        if r.get("refused_terms"):
            text = (
                f"{r['size']:,} rules: parse_term refused {r['refused_terms']} alias(es), left "
                f"out: {'; '.join(r['refused_examples'][:2])}"
            )
            notes.append(("", text))
    return notes


def print_table(result: dict[str, Any], console: Console) -> None:
    d = result["data"]
    title = (
        f"Watchlist matching: {d['articles']:,} BBC articles, one core, "
        f"best of {TIMED_PASSES} passes"
    )
    shown = [[row[i] for _, i in CONSOLE] for row in rows(result)]
    console.print(rich_table(title, [col for col, _ in CONSOLE], shown, "r" * len(CONSOLE)))
    targets = [
        [f"[{MARK_COLOURS.get(met, 'dim')}]{met}[/]", label, value]
        for met, label, value in _target_rows(result)
    ]
    console.print(rich_table("Targets", TARGET_COLUMNS, targets, "llr"))
    if result.get("meaning"):
        m = result["meaning"]
        title = f"Meaning: {_meaning_title(m)}"
        shown = meaning.rows(m["modes"], m["summary"])
        console.print(rich_table(title, list(meaning.COLUMNS), shown, "l" + "r" * 9))
        marked = [
            [f"[{MARK_COLOURS.get(met, 'dim')}]{met}[/]", label, value]
            for met, label, value in _meaning_targets(m)
        ]
        console.print(rich_table("Meaning targets", TARGET_COLUMNS, marked, "llr"))
        for text in meaning.notes(m["modes"], m["summary"]):
            console.print(Text(text))
    for style, text in _notes(result):
        console.print(Text(text, style=style))
    loads = ", ".join(
        f"{r['size']:,}: {r.get('loadavg_before', ['?'])[0]}" for r in result["sizes"]
    )
    console.print(
        f"[dim]1-min load average before each size: {loads}; total {result['elapsed_s']:.0f} s[/]"
    )
    console.print(
        "[green]all sizes ran without errors[/]"
        if result["valid"]
        else "[red]INVALID: a size failed or the matcher raised (see above)[/]"
    )


def markdown(result: dict[str, Any]) -> str:
    p, m, d = result["params"], result["machine"], result["data"]
    cpus = ", ".join(f"{r['size']:,}: CPU {r.get('cpu')}" for r in result["sizes"])
    loads = ", ".join(
        f"{r['size']:,}: {r.get('loadavg_before', ['?'])[0]} → {r.get('loadavg_after', ['?'])[0]}"
        for r in result["sizes"]
    )
    valid = "yes" if result["valid"] else "NO"
    code = result.get("code", {})
    uncommitted = "yes" if code.get("matcher_uncommitted") else "no"
    lines = [
        f"# Watchlist matching benchmark: {', '.join(f'{s:,}' for s in p['sizes'])} rules",
        "",
        f"- date: {result['date']}; total {result['elapsed_s']:.0f} s",
        f"- machine: {m['cpu_count']} CPUs, {m['cpu_model']}, {m['memory_gb']} GB, "
        f"{m['platform']}, Python {m['bench_python']}",
        f"- each size in a fresh subprocess pinned to one CPU (sched_setaffinity; {cpus}); "
        f"1-min load average before → after each size: {loads}",
        f"- code: HEAD {code.get('head')}; uncommitted changes in {', '.join(CODE_DIRS)}: "
        f"{uncommitted}; their source digest {code.get('digest_at_start')}",
        f"- articles: {d['articles']:,} BBC articles ({d['bbc']}); actors: {d['actors']:,} from "
        f"Phoenix ({d['phoenix']}); concepts: {d['concepts']} ({d['hand_concepts']} news concepts "
        f"+ {d['agent_concepts']} agent-noun groups); seed {p['seed']}",
        f"- monitor: one warm-up pass, then best of {p['timed_passes']} timed passes over every "
        "article; naive: one pass over an evenly spread sample sized to fit "
        f"{p['naive_budget_s']:g} s (at most {p['naive_articles']} articles)",
        f"- valid (no size failed, no exception from the matcher): {valid}",
        "",
        *Table("", COLUMNS, rows(result), "r" * len(COLUMNS)).markdown(),
        "",
        *Table("Targets", TARGET_COLUMNS, _target_rows(result), "llr").markdown(),
        "",
    ]
    if result.get("meaning"):
        m = result["meaning"]
        title = f"Meaning: {_meaning_title(m)}"
        lines += [
            f"**{title}**",
            "",
            *Table(
                title, meaning.COLUMNS, meaning.rows(m["modes"], m["summary"]), "l" + "r" * 9
            ).markdown(),
            "",
            *Table("Meaning targets", TARGET_COLUMNS, _meaning_targets(m), "llr").markdown(),
            "",
            *(f"- {text}" for text in meaning.notes(m["modes"], m["summary"])),
            "",
        ]
    lines += [f"- {text}" for _, text in _notes(result)]
    return "\n".join(lines) + "\n"


def _meaning_title(m: dict[str, Any]) -> str:
    some: dict[str, Any] = next((r for r in m["modes"].values() if "articles" in r), {})
    return (
        f"{some.get('concepts', '?')} concepts in {some.get('rules', '?')} rules, "
        f"{some.get('articles', 0):,} BBC articles in batches of {meaning.BATCH}, one core, "
        "one timed pass a mode, each in a fresh process"
    )


def _meaning_targets(m: dict[str, Any]) -> list[list[str]]:
    out = []
    for t in m["summary"]["targets"]:
        value = t["value"]
        shown = "not measured" if value is None else f"{value:,.3f}"
        out.append([mark(t["met"]), t["target"], shown])
    return out


def write(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    stem = "matching-quick" if result["params"]["quick"] else "matching"
    return write_pair(out_dir, stem, result, markdown(result))


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s.replace("_", "")) for s in text.split(",") if s.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text}") from exc
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be >= 1")
    return sizes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.matching", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "--sizes", type=_sizes, help="rule-set sizes, comma-separated (100,1000,10000,100000)"
    )
    parser.add_argument("--articles", type=int, help="use at most N articles (all 2,225)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: sizes 100,1000 and {QUICK_ARTICLES} articles",
    )
    parser.add_argument("--seed", type=int, default=1, help="actor order seed (1)")
    parser.add_argument(
        "--naive-articles", type=int, default=200, help="naive sample, at most N articles (200)"
    )
    parser.add_argument(
        "--naive-budget",
        type=float,
        default=60.0,
        help="seconds of naive matching per size; the sample shrinks to fit, and the size is "
        f"skipped when {NAIVE_MIN_ARTICLES} articles would not fit (60)",
    )
    parser.add_argument(
        "--agreement-size", type=int, default=1000, help="size checked against naive (1000)"
    )
    parser.add_argument("--cpu", type=int, help="pin to this CPU (default: the idlest one)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    parser.add_argument(
        "--no-tracemalloc", dest="tracemalloc", action="store_false", help="skip the traced compile"
    )
    parser.add_argument("--timeout", type=float, default=900, help="per size, s (900)")
    parser.add_argument(
        "--no-meaning", dest="meaning", action="store_false", help="skip the meaning rows"
    )
    parser.add_argument(
        "--model", help="the int8 ONNX model directory (default: tests.model.exported_model())"
    )
    parser.add_argument(
        "--meaning-timeout", type=float, default=1800, help="per meaning mode, s (1800)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument(
        "--check-targets", action="store_true", help="exit 2 when a target is not met"
    )
    # Internal: run one size in this process (the driver starts these).
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--naive-hint", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--agreement", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    if args.quick and args.articles is None:
        args.articles = QUICK_ARTICLES
    if args.articles is not None and args.articles < 1:
        parser.error("--articles must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker is not None:
        return worker_main(args)
    console = Console(log_path=False)
    started = time.perf_counter()
    machine = machine_info()
    code = {**git_state(), "digest_at_start": code_digest()}
    actors = read_actors()
    concepts = concept_entries()
    data = {
        "phoenix": str(PHOENIX),
        "bbc": str(BBC),
        "actors": len(actors),
        "actors_by_tier": {
            name: sum(1 for a in actors if a.tier == tier)
            for tier, name in enumerate(("countries", "organisations", "other"))
        },
        "concepts": len(concepts),
        "hand_concepts": len(CONCEPTS),
        "agent_concepts": len(concepts) - len(CONCEPTS),
        "articles": len(read_articles(limit=args.articles)),
    }
    results: list[dict[str, Any]] = []
    hint: float | None = None
    with Progress(console) as progress:
        progress.done(
            f"{data['actors']:,} actors, {data['concepts']} concepts, {data['articles']:,} articles"
        )
        for size in sorted(args.sizes):
            progress.step(f"{size:,} rules")
            r = run_size(size, args, hint, progress)
            results.append(r)
            if r.get("fatal"):
                progress.fail(f"{size:,} rules: {r['fatal'].strip().splitlines()[-1]}")
                continue
            naive = r.get("naive", {})
            hint = naive.get("s_per_article_per_rule", hint)
            naive_s = (
                f"naive {naive['articles_per_s']:,.1f}/s"
                if "articles_per_s" in naive
                else "naive skipped"
            )
            summary = (
                f"compile {r['compile_s']:.2f} s, index {r['index_rss_mb']:.0f} MB, "
                f"{_f(_rate(r))} articles/s, {r['matches']:,} matches, {naive_s} "
                f"({r['process_wall_s']:.0f} s)"
            )
            (progress.fail if r.get("errors") else progress.done)(summary)
        modes: dict[str, dict[str, Any]] = {}
        if args.meaning:
            args.model = meaning.model_dir(args.model)
        for mode in meaning.MODES if args.meaning else ():
            progress.step(f"meaning rows: {meaning.LABELS[mode]}")
            r = run_meaning(mode, args, progress)
            modes[mode] = r
            if r.get("fatal"):
                progress.fail(f"{mode}: {r['fatal'].strip().splitlines()[-1]}")
            else:
                progress.done(
                    f"{_f(r.get('articles_per_s'), '{:,.1f}')} articles/s, peak RSS "
                    f"{r['peak_rss_mb']:.0f} MB ({r['process_wall_s']:.0f} s)"
                )
    elapsed = time.perf_counter() - started
    result = build_result(args, machine, data, results, elapsed, code, modes)
    print_table(result, console)
    for path in write(result, args.out):
        console.print(f"wrote {path}")
    return exit_status(result, args.check_targets)


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
