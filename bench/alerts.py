"""Alert speed: feed item to instant webhook, and rendering a 500-story digest.

.venv/bin/python -m bench.alerts [--items 40] [--intervals 2,5] [--stories 500]
                                 [--skip-latency] [--skip-render] [--seed 1] [--out DIR]

Latency: the real daemon (`python -m monitor run`, a subprocess) polls one
loopback RSS feed every P seconds and has one instant webhook route; both ends
are in this process (bench/alerts_receiver.py). BBC politics articles that say
"government" (the watchlist's one term), each a story of its own, are added one
at a time at a random moment of the poll cycle, each waited for before the
next. Latency = webhook received − item visible. Baseline, same run: the wait
for the first poll that serves the item; latency minus that wait is monitor's
own share, which the daemon's JSON log splits into its stages.

Rendering: a digest of 500 stories (real BBC titles and first sentences, three
watchlists, two to four other outlets each) built, made into the template context
and rendered in every format, in this process; the baseline is the same
templates in a plain, non-sandboxed Jinja2 environment.
Results: bench/results/alerts.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.policy import SMTP
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console

from bench.alerts_receiver import Item, Loopback
from bench.neardup_data import BBC, Doc, Source, read_bbc
from bench.neardup_db import add_feed, article_id, fresh_repository, load_docs, near_stage
from bench.neardup_db import verdicts as near_verdicts
from bench.results import (
    RESULTS,
    ROOT,
    begin,
    code_and_command,
    command_argv,
    exit_status,
    target,
    write_pair,
)
from bench.tables import (
    TARGET_COLUMNS,
    Table,
    dash,
    mark,
    markdown_document,
    print_tables,
    target_rows,
)
from bench.ui import Progress

WORD = re.compile(r"\bgovernment\b", re.IGNORECASE)
ITEM_TIMEOUT = 30.0  # s for an item's webhook, then it counts as missed
START_TIMEOUT = 90.0  # s for the daemon's start and the warm-up item's webhook
LATENCY_SLACK = 1.0  # target: p99 latency < P + this
RENDER_TARGET = 1.0  # s for build + context + every format of the 500-story digest
REPEATS = 5
CHAT_JSON = tuple(f"{fmt}.json" for fmt in ("slack", "discord", "teams", "mattermost"))
STAGES = (  # monitor's share, from the item's feed request: (label, the log event ending it)
    ("fetch+save", "feed.updated"),
    ("near", "near.done"),
    ("match+render", "digest.built"),
)  # then "deliver": up to the webhook's arrival
WATCHLIST = """\
name: bench-government
description: Every benchmark article says "government".
concepts:
  government:
    terms: [government]
rules:
  government_news:
    all: [government]
"""
CONFIG = """\
database: {{url: "sqlite:///{tmp}/bench.db"}}
network: {{allow_private: true}}
log: {{format: json, level: debug}}
polling: {{interval: {p:g}s, min_interval: 1s, check_every: 0.25s, parse_workers: 0}}
alerts: {{check_every: 1s}}
feeds: [{{url: "{feed}", title: Bench Wire, interval: {p:g}s}}]
routes:
  - name: instant-hook
    schedule: instant
    webhook: {{url: "{hook}"}}
"""  # JSON logs at debug level: the stage timestamps


# ---------------------------------------------------------------------------- latency


def pick_articles(pool: Sequence[Source], count: int) -> list[Source]:
    """The first ``count`` articles of ``pool`` that, added in that order, each start a
    story of their own.

    monitor sends a story once, and BBC politics has many articles on one story:
    such a second item would never be alerted. Which story an article joins
    depends on those before it, so the daemon's near stage runs over the items one
    at a time, as the daemon will; the late members of shared stories are
    dropped, and again, until none is left.
    """
    chosen = list(pool)
    while True:
        if len(chosen) < count:
            raise SystemExit(f"only {len(chosen)} single-article stories for {count} items")
        seen, shared = set(), set()
        for source, (copy_of, story) in zip(chosen, near_one_by_one(chosen[:count]), strict=False):
            if copy_of is not None or (story is not None and story in seen):
                shared.add(source.id)
            seen.add(story)
        if not shared:
            return chosen[:count]
        chosen = [s for s in chosen if s.id not in shared]


def near_one_by_one(sources: Sequence[Source]) -> list[tuple[str | None, int | None]]:
    """(the original it copies, its story) of each source, compared as the daemon would."""
    from monitor.config import DuplicateSettings

    found = []
    with tempfile.TemporaryDirectory() as tmp:
        repo = fresh_repository(f"sqlite:///{tmp}/pick.db")
        try:
            feed = add_feed(repo)
            for n, s in enumerate(sources):
                at = datetime.now(UTC) + timedelta(seconds=n)
                load_docs(
                    repo, feed, [Doc(s.id, s.title, _text(s), at, s.id, "original", None)], at
                )
                near_stage(repo, DuplicateSettings(), at).run()
            found = [near_verdicts(repo)[article_id(s.id)] for s in sources]
        finally:
            repo.close()
    return found


def _text(source: Source) -> str:
    return "\n\n".join(source.paragraphs)


def run_interval(
    interval: float, articles: Sequence[Source], rng: random.Random, progress: Progress
) -> dict[str, Any]:
    """A fresh daemon polling every ``interval`` s; the first article warms it up, untimed."""
    items = [Item(a, f"https://news.example/{a.id}") for a in articles]
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as name, Loopback() as net:
        tmp = Path(name)
        (tmp / "watchlists").mkdir()
        (tmp / "watchlists" / "bench.yaml").write_text(WATCHLIST)
        config = CONFIG.format(tmp=tmp, p=interval, feed=net.feed_url, hook=net.hook_url)
        (tmp / "monitor.yaml").write_text(config)
        net.add(items[0])
        log = tmp / "daemon.log"
        argv = [sys.executable, "-m", "monitor", "--config", str(tmp / "monitor.yaml"), "run"]
        with log.open("w") as out:
            daemon = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            # The warm-up item proves the daemon polls, matches and delivers, and
            # gets its one-off costs (templates, first connections) out of the way.
            progress.update(f"P={interval:g}s: waiting for the daemon's first alert")
            if not net.wait_for(items[0], START_TIMEOUT):
                raise RuntimeError(f"no warm-up alert; daemon log:\n{log.read_text()[-3000:]}")
            for n, item in enumerate(items[1:], 1):
                time.sleep(rng.uniform(0, interval))  # a random phase against the poll timer
                net.add(item)
                net.wait_for(item, ITEM_TIMEOUT)
                progress.update(f"P={interval:g}s: item {n}/{len(items) - 1}")
        finally:
            stopped = stop(daemon)
        events = read_log(log)
    periods = [b - a for a, b in zip(net.requests, net.requests[1:], strict=False)]
    return summarise(interval, items[1:], events, periods, stopped)


def stop(daemon: subprocess.Popen[bytes]) -> str:
    """SIGTERM, then SIGKILL after 10 s; says which it took."""
    if daemon.poll() is not None:
        return f"exited early ({daemon.returncode})"
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(10)
        return "SIGTERM"
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
        return "SIGKILL"


def read_log(path: Path) -> list[tuple[float, str]]:
    """(wall time, event) of each JSON line of the daemon's log."""
    events = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
            events.append(
                (datetime.fromisoformat(record["timestamp"]).timestamp(), record["event"])
            )
        except (ValueError, KeyError, TypeError):
            continue  # the start-up banner, library warnings
    return events


def stages(item: Item, events: Sequence[tuple[float, str]]) -> list[float] | None:
    """Seconds from the item's feed request to the first of each stage's events after
    it, then to its webhook (this process's wall clock against the log's)."""
    if item.polled_wall is None or item.arrived_wall is None:
        return None
    out, at = [], item.polled_wall
    for _, event in STAGES:
        end = next((t for t, e in events if e == event and at <= t <= item.arrived_wall), None)
        if end is None:
            return None
        out.append(end - at)
        at = end
    return [*out, item.arrived_wall - at]


def p99(values: Sequence[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def summarise(
    interval: float,
    items: Sequence[Item],
    events: Sequence[tuple[float, str]],
    periods: Sequence[float],
    stopped: str,
) -> dict[str, Any]:
    done = [i for i in items if i.arrived is not None and i.polled is not None]
    latency = [i.arrived - i.visible for i in done if i.arrived is not None]
    wait = [i.polled - i.visible for i in done if i.polled is not None]
    own = [a - w for a, w in zip(latency, wait, strict=True)]
    split = [s for s in (stages(i, events) for i in done) if s is not None]
    row: dict[str, Any] = {
        "interval_s": interval,
        "items": len(items),
        "missed": [i.source.title for i in items if i not in done],
        "poll_period_median_s": statistics.median(periods) if periods else None,
        "daemon_stopped_by": stopped,
        "target_s": interval + LATENCY_SLACK,
    }
    for name, values in (("latency", latency), ("poll_wait", wait), ("own", own)):
        if values:
            row |= {f"{name}_median_s": statistics.median(values), f"{name}_p99_s": p99(values)}
            row[f"{name}_max_s"] = max(values)
    if latency:
        row["latency_over_wait"] = statistics.median(latency) / statistics.median(wait)
    labels = [label for label, _ in STAGES] + ["deliver"]
    row["own_stages_median_s"] = {
        label: statistics.median(s[n] for s in split) for n, label in enumerate(labels) if split
    }
    row["met"] = bool(latency) and not row["missed"] and row["latency_p99_s"] < row["target_s"]
    row["samples"] = [
        {"id": i.source.id, "latency_s": round(a, 4), "poll_wait_s": round(w, 4)}
        for i, a, w in zip(done, latency, wait, strict=True)
    ]
    return row


# ---------------------------------------------------------------------------- rendering


def digest_input(count: int, rng: random.Random) -> tuple[list[Any], dict[str, list[Any]]]:
    """Candidates for ``count`` stories of real BBC articles (title, first sentence as the
    snippet, its capitalised words as the hits), and two to four other outlets each."""
    from monitor.core.alerting import Candidate
    from monitor.core.alerting import Source as Outlet

    articles = read_bbc(BBC)
    rng.shuffle(articles)
    watchlists = ("energy-markets", "elections-east", "north-korea-russia")
    candidates, outlets = [], {}
    start = datetime(2025, 3, 1, tzinfo=UTC)
    for n, article in enumerate(articles[:count]):
        key, url = f"s{n}", f"https://news.example/{article.id}"
        first = re.split(r"(?<=[.!?])\s", article.paragraphs[0], maxsplit=1)[0]
        terms = re.findall(r"[A-Z][a-z]{3,}", first)[:3] or ["the"]
        spans = sorted({m.span() for t in terms for m in re.finditer(re.escape(t), first)})
        for rule in range(1 + (n % 3 == 0)):  # every third story matched two rules
            candidates.append(
                Candidate(
                    match_id=2 * n + rule,
                    story_key=key,
                    article_id=f"a{n}",
                    watchlist=watchlists[n % 3],
                    rule=f"rule_{rule}",
                    score=rng.uniform(1, 40),
                    terms=tuple(terms),
                    snippet=first,
                    highlights=tuple(spans),
                    title=article.title,
                    url=url,
                    source="BBC News",
                    published=start + timedelta(minutes=n),
                    is_copy=False,
                )
            )
        outlets[key] = [
            Outlet(f"Outlet {k}", article.title, f"https://outlet{k}.example/{article.id}")
            for k in range(rng.randint(2, 4))
        ]
    return candidates, outlets


def timed(fn: Callable[[], Any]) -> tuple[dict[str, float], Any]:
    """Best and median seconds of REPEATS calls, and the last call's result."""
    times, result = [], None
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return {"best_s": min(times), "median_s": statistics.median(times)}, result


def template_runner(sandboxed: bool) -> Callable[[str, dict[str, Any]], str]:
    """One template rendered as monitor's Renderer does it (same loader, escaping,
    strictness, JSON check), in Jinja2's sandbox or, for the baseline, without."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    from monitor.alert.render import BUNDLED, TEXT_FILTERS

    kind = SandboxedEnvironment if sandboxed else Environment
    options: dict[str, Any] = {"undefined": StrictUndefined, "trim_blocks": True}
    options["loader"] = FileSystemLoader(str(BUNDLED))
    html, text = kind(autoescape=True, **options), kind(autoescape=False, **options)
    text.filters.update(TEXT_FILTERS)  # the chat formats' filters, as the Renderer has them

    def render(name: str, ctx: dict[str, Any]) -> str:
        out = (html if name.endswith(".html.j2") else text).get_template(name).render(ctx)
        if name.endswith(".json.j2"):  # the Renderer re-reads JSON to refuse a broken one
            out = json.dumps(json.loads(out), ensure_ascii=False, separators=(",", ":"))
        return out

    return render


def render_bench(count: int, rng: random.Random) -> dict[str, Any]:
    from monitor.alert.digest import build
    from monitor.alert.message import email_message
    from monitor.alert.render import Renderer, context
    from monitor.app import route_spec
    from monitor.config import RouteSettings

    candidates, outlets = digest_input(count, rng)
    zone, now = ZoneInfo("Europe/London"), datetime.now(UTC)
    steps: dict[str, dict[str, float]] = {}
    steps["build()"], digest = timed(lambda: build(candidates, {}, outlets, cap=count))
    steps["context()"], ctx = timed(
        lambda: context(digest, route="bench", title="Bench", kind="digest", now=now, zone=zone)
    )
    started = time.perf_counter()
    renderer = Renderer()
    renderer.render(ctx)
    first = time.perf_counter() - started  # compiles the templates: once per daemon
    steps["Renderer.render()"], rendered = timed(lambda: renderer.render(ctx))
    route = route_spec(RouteSettings.model_validate({"name": "bench", "file": {"dir": "x"}}))
    steps["email_message() bytes"], mail = timed(
        lambda: email_message(route, rendered, message_id="<b@x>", now=now, domain="x").as_bytes(
            policy=SMTP
        )
    )
    sandbox, plain = template_runner(True), template_runner(False)
    templates = {}
    for name in ("subject.txt", "digest.txt", "digest.html", "webhook.json", *CHAT_JSON):
        timing, out = timed(partial(sandbox, f"{name}.j2", ctx))
        baseline, same = timed(partial(plain, f"{name}.j2", ctx))
        templates[name] = {**timing, "plain_best_s": baseline["best_s"], "bytes": len(out)}
        # Best of each for the ratio: the least disturbed run of either.
        templates[name] |= {"ratio": timing["best_s"] / baseline["best_s"], "same": out == same}
    # Every format: the Renderer's four parts (webhook JSON included), then each chat JSON.
    chat = sum(templates[name]["median_s"] for name in CHAT_JSON)
    total = steps["build()"]["median_s"] + steps["context()"]["median_s"]
    total += steps["Renderer.render()"]["median_s"] + chat
    return {
        "stories": len(digest.entries),
        "candidates": len(candidates),
        "outlets": sum(map(len, outlets.values())),
        "steps": steps,
        "first_render_s": first,
        "templates": templates,
        "sandbox_over_plain": sum(t["best_s"] for t in templates.values())
        / sum(t["plain_best_s"] for t in templates.values()),
        "email_bytes": len(mail),
        "same_as_renderer": sandbox("webhook.json.j2", ctx) == rendered.json,
        "total_s": total,
        "met": total < RENDER_TARGET,
    }


# ---------------------------------------------------------------------------- report


def _s(value: float | None) -> str:
    return dash(value, "{:.2f}")


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:,.1f}" if value >= 0.001 else f"{value * 1000:.3f}"


Column = tuple[str, Callable[[dict[str, Any]], str]]  # header, cell from a result row
LATENCY: tuple[Column, ...] = (
    ("P s", lambda r: f"{r['interval_s']:g}"),
    ("items", lambda r: str(r["items"])),
    ("missed", lambda r: str(len(r["missed"]))),
    ("poll period", lambda r: _s(r["poll_period_median_s"])),
    ("median", lambda r: _s(r.get("latency_median_s"))),
    ("p99", lambda r: _s(r.get("latency_p99_s"))),
    ("max", lambda r: _s(r.get("latency_max_s"))),
    ("target p99", lambda r: f"< {r['target_s']:g}"),
    ("met", lambda r: mark(r["met"])),
)
SHARE: tuple[Column, ...] = (
    ("P s", lambda r: f"{r['interval_s']:g}"),
    ("wait", lambda r: _s(r.get("poll_wait_median_s"))),
    ("wait p99", lambda r: _s(r.get("poll_wait_p99_s"))),
    ("latency / wait", lambda r: f"{r.get('latency_over_wait', 0):.2f}×"),
    ("own", lambda r: _ms(r.get("own_median_s"))),
    ("own p99", lambda r: _ms(r.get("own_p99_s"))),
    *(
        (label, lambda r, label=label: _ms(r["own_stages_median_s"].get(label)))
        for label in [*(label for label, _ in STAGES), "deliver"]
    ),
)


def render_rows(r: dict[str, Any]) -> list[list[str]]:
    rows = [[k, _ms(v["best_s"]), _ms(v["median_s"]), "", ""] for k, v in r["steps"].items()]
    for name, t in r["templates"].items():
        ratio = f"{t['ratio']:.2f}×"
        rows.append([name, _ms(t["best_s"]), _ms(t["median_s"]), _ms(t["plain_best_s"]), ratio])
    rows.append(["all templates", "", "", "", f"{r['sandbox_over_plain']:.2f}×"])
    rows.append(["total: build + context + all formats", "", _ms(r["total_s"]), "", ""])
    return rows


def tables(result: dict[str, Any]) -> list[Table]:
    """Each table, for the console and the Markdown alike."""
    out = []
    for title, spec in (
        ("Feed item visible → instant webhook received, s", LATENCY),
        ("Baseline: wait for the poll (s); monitor's own share and its stages (ms)", SHARE),
    ):
        if result["latency"]:
            rows = [[cell(r) for _, cell in spec] for r in result["latency"]]
            out.append(_table(title, [header for header, _ in spec], rows))
    if result.get("render"):
        r = result["render"]
        title = f"Rendering a {r['stories']}-story digest, ms (best / median of {REPEATS})"
        columns = ["step / template", "best", "median", "plain Jinja2 best", "sandbox / plain"]
        out.append(_table(title, columns, render_rows(r)))
    out.append(_table("Targets", TARGET_COLUMNS, target_rows(result["targets"])))
    return out


def _table(title: str, columns: Sequence[str], rows: list[list[str]]) -> Table:
    """Columns of figures only (or of none) right-aligned, the others left."""
    align = "".join("r" if _numeric(rows, n) else "l" for n in range(len(columns)))
    return Table(title, columns, rows, align)


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for r in result["latency"]:
        name = f"P = {r['interval_s']:g} s: p99 < {r['target_s']:g} s, none missed"
        value = f"{_s(r.get('latency_p99_s'))} s, {len(r['missed'])} missed"
        found.append(target(name, value, r["met"]))
    if result.get("render"):
        r = result["render"]
        name = f"{r['stories']}-story digest, all formats < {RENDER_TARGET:g} s"
        found.append(target(name, f"{_ms(r['total_s'])} ms", r["met"]))
    return found


def notes(result: dict[str, Any]) -> list[str]:
    out = []
    for r in result["latency"]:
        p = f"P = {r['interval_s']:g} s"
        if r["missed"]:
            out.append(f"{p}: no webhook within {ITEM_TIMEOUT:g} s for {r['missed']}")
        if r["daemon_stopped_by"] != "SIGTERM":
            out.append(f"{p}: daemon {r['daemon_stopped_by']}")
    render = result.get("render")
    if render and not render["same_as_renderer"]:
        out.append("the bench's sandboxed webhook JSON differs from Renderer.render()'s")
    if render and not all(t["same"] for t in render["templates"].values()):
        out.append("sandboxed and plain Jinja2 rendered some template differently")
    return out


def _numeric(rows: list[list[str]], column: int) -> bool:
    return all(re.fullmatch(r"(< )?[\d.,—]*×?", row[column]) for row in rows)


def print_result(result: dict[str, Any], console: Console) -> None:
    print_tables(console, tables(result), result["notes"])


def markdown(result: dict[str, Any]) -> str:
    m, p = result["machine"], result["params"]
    first = result.get("render", {}).get("first_render_s")
    head = [
        "# Alert speed: feed item to webhook, and rendering a digest",
        "",
        f"- date: {result['started']}; {m['cpu_count']} CPUs, {m['cpu_model']}, "
        f"Python {m['bench_python']}; load at start {m['loadavg_at_start']}",
        *code_and_command(result, "bench.alerts"),
        f"- latency: {p['items']} items per poll interval P, each at a random moment of the "
        "poll cycle once the previous one's webhook came; the daemon looks for due feeds "
        "every 0.25 s. Poll wait: item visible → first feed request serving it. Own share: "
        "latency − poll wait, split by the daemon's log: request → feed.updated → near.done "
        "→ digest.built → webhook received",
        "- rendering: templates one by one as the Renderer runs them (sandboxed) against a "
        "plain jinja2.Environment with the same settings; the total is build, context, "
        f"Renderer.render() and the four chat JSONs; first render (compiling) {_ms(first)} ms",
    ]
    return markdown_document(head, tables(result), result["notes"])


# ---------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.alerts", description=__doc__)
    parser.add_argument("--items", type=int, default=40, help="timed items per interval (40)")
    parser.add_argument("--intervals", default="2,5", help="poll intervals in s (2,5)")
    parser.add_argument("--stories", type=int, default=500, help="digest size (500)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-render", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--check-targets", action="store_true", help="exit 2 on a missed target")
    args = parser.parse_args(argv)
    args.intervals = [float(x) for x in args.intervals.split(",") if x.strip()]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(log_path=False)
    rng = random.Random(args.seed)
    result: dict[str, Any] = {
        **begin("alerts"),
        "params": {k: v for k, v in vars(args).items() if k != "out"},
        "latency": [],
    }
    result["params"]["argv"] = command_argv(argv)
    with Progress(console) as progress:
        if not args.skip_render:
            progress.step(f"rendering a {args.stories}-story digest")
            result["render"] = render_bench(args.stories, rng)
            progress.done(f"all formats in {_ms(result['render']['total_s'])} ms")
        if not args.skip_latency:
            pool = [s for s in read_bbc(BBC) if s.category == "politics" and WORD.search(_text(s))]
            for interval in args.intervals:
                progress.step(f"latency, polling every {interval:g} s")
                progress.update("picking articles that are each a story of their own")
                articles = pick_articles(pool, args.items + 1)  # and a warm-up item
                pool = [s for s in pool if s not in articles]  # every daemon, other articles
                row = run_interval(interval, articles, rng, progress)
                result["latency"].append(row)
                (progress.done if row["met"] else progress.fail)(
                    f"median {_s(row.get('latency_median_s'))} s, "
                    f"p99 {_s(row.get('latency_p99_s'))} s, {len(row['missed'])} missed"
                )
    result["targets"], result["notes"] = targets(result), notes(result)
    result["valid"] = not any(r["missed"] for r in result["latency"])  # every item alerted
    print_result(result, console)
    for path in write_pair(args.out, "alerts", result, markdown(result)):
        console.print(f"wrote {path}")
    return exit_status(result, args.check_targets)


if __name__ == "__main__":
    sys.exit(main())
