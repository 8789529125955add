"""Summarise runs (medians, ratios, targets) and write the table, JSON and Markdown."""

from __future__ import annotations

import statistics
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.cycles import CYCLES, CycleResult
from bench.results import write_pair
from bench.tables import Table, dash

METRICS = (
    ("wall_s", "wall s"),
    ("cpu_s", "CPU s"),
    ("peak_rss_mb", "peak RSS MB"),
    ("peak_pss_mb", "peak PSS MB"),  # shared pages split between processes
    ("proc_wall_s", "process wall s"),  # start-up included, as seen by the bench
    ("proc_cpu_s", "process CPU s"),
)
EXTRA = ("other_cpu_s",)  # medians kept in the JSON, not shown as rows
# (cycle, metric, kind, threshold): ratio >= threshold, or monitor value < threshold
BUSY_SHARE = 0.10  # flag a cycle when foreign processes used > 10 % of a core during it
TARGETS = (
    ("cold", "wall_s", "ratio", 1.0, "cold cycle: reader_wall / monitor_wall >= 1"),
    ("304", "wall_s", "ratio", 3.0, "304 cycle: reader_wall / monitor_wall >= 3"),
    ("cold", "peak_rss_mb", "below", 200.0, "cold cycle: monitor peak RSS < 200 MB"),
    ("304", "peak_rss_mb", "below", 200.0, "304 cycle: monitor peak RSS < 200 MB"),
)


def summarise(runs: list[dict[str, CycleResult]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cycle in CYCLES:
        got = [run[cycle] for run in runs if cycle in run]
        if not got:
            continue
        keys = [key for key, _ in METRICS] + list(EXTRA)
        entry: dict[str, Any] = {
            key: statistics.median(getattr(r, key) for r in got) for key in keys
        }
        entry["runs"] = [asdict(r) for r in got]
        failed = [
            f"run {i + 1}: {c.name}: {c.detail}"
            for i, r in enumerate(got)
            for c in r.checks
            if not c.ok
        ]
        entry["checks_ok"] = not failed
        entry["failed_checks"] = failed
        out[cycle] = entry
    return out


def build(
    params: dict[str, Any],
    machine: dict[str, Any],
    contenders: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """contenders: name -> {"info": {...}, "cycles": summarise(...), "error": str | None}."""
    mon = contenders.get("monitor", {}).get("cycles", {})
    rdr = contenders.get("reader", {}).get("cycles", {})
    ratios: dict[str, dict[str, float]] = {}
    for cycle in CYCLES:
        if cycle in mon and cycle in rdr:
            ratios[cycle] = {
                key: rdr[cycle][key] / mon[cycle][key] for key, _ in METRICS if mon[cycle][key] > 0
            }
    targets = []
    for cycle, key, kind, threshold, label in TARGETS:
        value: float | None = None
        if kind == "ratio":
            value = ratios.get(cycle, {}).get(key)
        elif cycle in mon:
            value = mon[cycle][key]
        met = (
            None
            if value is None
            else (value >= threshold if kind == "ratio" else value < threshold)
        )
        targets.append({"target": label, "value": value, "threshold": threshold, "met": met})
    valid = all(
        not c.get("error") and all(cy.get("checks_ok") for cy in c.get("cycles", {}).values())
        for c in contenders.values()
    )
    return {
        "benchmark": "polling",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "params": params,
        "machine": machine,
        "contenders": contenders,
        "ratios": ratios,
        "targets": targets,
        "valid": valid,
    }


def _fmt(value: float | None, key: str = "") -> str:
    return dash(value, "{:.0f}" if key.startswith("peak") else "{:.2f}")


COLUMNS = ("cycle", "metric", "monitor", "reader", "reader / monitor", "target", "met")


def rows(result: dict[str, Any]) -> list[list[str]]:
    """Cycle, metric, monitor, reader, ratio, target, met."""
    out = []
    cons = result["contenders"]
    for cycle in CYCLES:
        for key, label in METRICS:
            vals = [
                cons.get(n, {}).get("cycles", {}).get(cycle, {}).get(key)
                for n in ("monitor", "reader")
            ]
            ratio = result["ratios"].get(cycle, {}).get(key)
            target, met = "", ""
            for (tc, tk, kind, thr, _), t in zip(TARGETS, result["targets"], strict=True):
                if tk == key and tc == cycle:
                    target = f"≥ {thr:g}×" if kind == "ratio" else f"< {thr:g} MB"
                    met = {True: "yes", False: "NO", None: "—"}[t["met"]]
            ratio_s = dash(ratio, "{:.2f}×")
            out.append([cycle, label, _fmt(vals[0], key), _fmt(vals[1], key), ratio_s, target, met])
    return out


def print_table(result: dict[str, Any], console: Console) -> None:
    p = result["params"]
    title = f"Polling {p['feeds']} feeds × {p['entries']} entries (median of {p['repeat']})"
    shown = [
        [*row[:6], {"yes": "[green]yes[/]", "NO": "[red]NO[/]"}.get(row[6], row[6])]
        for row in rows(result)
    ]
    styles = ["dim" if row[1].startswith(("process", "peak PSS")) else None for row in shown]
    console.print(Table(title, COLUMNS, shown, "llrrrlr").rich(styles))
    console.print(
        "ratio = reader / monitor: > 1 means monitor is faster or smaller. "
        "'process' rows: the whole subprocess, interpreter start-up included. "
        "PSS: like RSS but pages shared between processes are split between them."
    )
    for name, con in result["contenders"].items():
        if con.get("error"):
            console.print(f"[red]{name} failed:[/] {con['error']}")
        for cycle, cy in con.get("cycles", {}).items():
            for failed in cy["failed_checks"]:
                console.print(f"[red]check failed[/] {name} {cycle}: {failed}")
    for name, con in result["contenders"].items():
        for cycle, cy in con.get("cycles", {}).items():
            for i, run in enumerate(cy["runs"]):
                if run["other_cpu_s"] > BUSY_SHARE * run["proc_wall_s"]:
                    console.print(
                        f"[yellow]warning:[/] {name} {cycle} run {i + 1}: other processes used "
                        f"{run['other_cpu_s']:.1f} s of CPU during its {run['proc_wall_s']:.1f} s: "
                        "figures are noisy"
                    )
    verdict = (
        "[green]all checks passed[/]" if result["valid"] else "[red]INVALID: see failures above[/]"
    )
    console.print(verdict)


def markdown(result: dict[str, Any]) -> str:
    p, m = result["params"], result["machine"]
    cons = result["contenders"]
    pythons = ", ".join(
        [f"bench {m['bench_python']}"]
        + [f"{n} {c['info'].get('python', '?')}" for n, c in cons.items() if c.get("info")]
    )
    versions = ", ".join(
        f"{n} {c['info'].get('version', '?')}" for n, c in cons.items() if c.get("info")
    )
    other = ", ".join(
        f"{n} {c} {cy['other_cpu_s']:.2f}"
        for n, con in cons.items()
        for c, cy in con.get("cycles", {}).items()
    )
    lines = [
        f"# Polling benchmark: {p['feeds']} feeds × {p['entries']} entries",
        "",
        f"- date: {result['date']}",
        f"- machine: {m['cpu_count']} CPUs ({m['cpu_physical']} physical), {m['cpu_model']}, "
        f"{m['memory_gb']} GB, {m['platform']}",
        f"- load average at start {m['loadavg_at_start']}; CPU used by other processes during "
        f"each cycle (median, s): {other or 'n/a'}",
        f"- python: {pythons}",
        f"- contenders: {versions or 'none'}",
        f"- median of {p['repeat']} run(s); ratio = reader / monitor "
        "(> 1: monitor faster or smaller)",
        "- wall s / CPU s: the poll cycle as timed by the contender; peak RSS: the contender's "
        "process tree sampled every 20 ms (PSS every 100 ms, shared pages split between "
        "processes); process rows: the whole subprocess, start-up included",
        f"- valid (all request and article counts checked): {'yes' if result['valid'] else 'NO'}",
        "",
        *Table("", COLUMNS, rows(result), "llrrrll").markdown(),
    ]
    for name, con in cons.items():
        if con.get("error"):
            lines.append(f"\n{name} failed: {con['error']}")
    return "\n".join(lines) + "\n"


def write(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """polling.{json,md}; a one-contender run writes polling-NAME.* so as not to
    overwrite the last head-to-head comparison."""
    only = result["params"].get("only")
    return write_pair(out_dir, f"polling-{only}" if only else "polling", result, markdown(result))
