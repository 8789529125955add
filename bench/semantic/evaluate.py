"""Recall and precision of matching engines on the semantic evaluation set.

    python -m bench.semantic.evaluate [--split heldout|tune|all] [--out DIR]

Runs each engine over every case of the split (default: the held-out half) and asks
only about the case's own concept: a positive should fire it, a trap or a negative
should not. Prints a table per concept and pooled (recall on all positives, recall on
the paraphrased ones, i.e. every kind but ``literal``, precision where traps and
negatives that fire are false hits), and writes DIR/semantic.json and .md (default
bench/results/) and DIR/semantic-errors-SPLIT.md, every miss and false hit.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from bench import results
from bench.semantic.cases import CONCEPTS, HERE, SPLITS, Case, concepts_of, read_cases
from bench.semantic.engines import Engine, LexicalEngine, MeaningEngine
from bench.semantic.scoring import POOLED, Score, Verdict, decide, scores
from bench.tables import Table, dash, markdown_document, print_tables
from monitor.meaning.judge import DEFAULT_THRESHOLD, TextEncoder

STEM = "semantic"
EXAMPLES = HERE / "examples.yaml"  # written from the descriptions only, before any case
MODULE = "bench.semantic.evaluate"
# The targets, pooled over the held-out half.
PARAPHRASE_RECALL_TARGET = 0.90
PRECISION_TARGET = 0.95
PER_ENGINE = ("recall", "paraphrased", "precision", "false hits")


def main(argv: Sequence[str] | None = None, encoder: TextEncoder | None = None) -> int:
    """``encoder``: the sentence encoder of the meaning engines (default: the model named
    by --model, through monitor.meaning.encoder); without one, lexical alone."""
    args = parse_args(argv)
    cases = read_cases(args.split)
    encoder = encoder or load_model(args.model)
    engines: list[Engine] = [LexicalEngine(CONCEPTS), *meaning_engines(encoder)]
    if encoder is not None:
        write_curve(args.out, args.split, cases, encoder)
    verdicts = {engine.name: decide(engine, cases) for engine in engines}
    result = record(args, cases, verdicts)
    table = score_table(result, args.split)
    notes = result_notes(result)
    Console().print(table.rich())
    print_tables(Console(), [], notes)
    head = [f"# Semantic matching evaluation ({args.split})", "", *head_lines(result)]
    results.write_pair(args.out, STEM, result, markdown_document(head, [table], notes))
    errors = args.out / f"{STEM}-errors-{args.split}.md"
    errors.write_text(errors_document(verdicts, args.split))
    print(f"wrote {args.out / STEM}.json, .md and {errors}")
    return results.exit_status(result, check_targets=False)


def meaning_engines(encoder: TextEncoder | None) -> list[Engine]:
    """Lexical + meaning, without examples (as users write) and with examples.yaml."""
    if encoder is None:
        return []
    examples = yaml.safe_load(EXAMPLES.read_text())
    return [
        MeaningEngine(CONCEPTS, encoder),
        MeaningEngine(CONCEPTS, encoder, examples, name="lexical+meaning+examples"),
    ]


def load_model(model: str | None) -> TextEncoder | None:
    if model is None:
        return None
    from monitor.meaning.encoder import load_encoder  # type: ignore[import-not-found,unused-ignore]

    encoder: TextEncoder = load_encoder(model)
    return encoder


def write_curve(out: Path, split: str, cases: Sequence[Case], encoder: TextEncoder) -> None:
    """Recall and precision of lexical + meaning (no examples) at each threshold."""
    lines = [
        f"# Lexical + meaning (no examples): threshold sweep ({split}, {len(cases)} cases)",
        "",
        f"Default threshold {DEFAULT_THRESHOLD}. "
        f"Targets: paraphrased recall >= {PARAPHRASE_RECALL_TARGET}, "
        f"precision >= {PRECISION_TARGET}.",
        "",
        "| threshold | recall | paraphrased recall | precision | false hits (traps) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for step in range(14, 47, 2):
        t = step / 100
        engine = MeaningEngine(CONCEPTS, encoder, threshold=t)
        p = scores(decide(engine, cases), [])[POOLED]
        lines.append(
            f"| {t:.2f} | {dash(p.recall, '{:.3f}')} | {dash(p.paraphrase_recall, '{:.3f}')} "
            f"| {dash(p.precision, '{:.3f}')} | {p.false_hits} ({p.trap_hits}) |"
        )
    (out / f"{STEM}-curve-{split}.md").write_text("\n".join(lines) + "\n")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__)
    parser.add_argument("--split", choices=SPLITS, default="heldout")
    parser.add_argument("--out", type=Path, default=results.RESULTS)
    parser.add_argument(
        "--model", help="sentence model (hub name or directory) for the meaning engines"
    )
    args = parser.parse_args(results.command_argv(argv))
    args.argv = results.command_argv(argv)
    return args


def record(
    args: argparse.Namespace, cases: Sequence[Case], verdicts: Mapping[str, Sequence[Verdict]]
) -> dict[str, Any]:
    concepts = concepts_of(cases)
    per_engine = {name: scores(vs, concepts) for name, vs in verdicts.items()}
    result = results.begin(STEM)
    result["params"] = {"argv": args.argv, "split": args.split, "cases": len(cases)}
    result["concepts"] = list(concepts)
    result["engines"] = {
        name: {concept: score_record(s) for concept, s in by_concept.items()}
        for name, by_concept in per_engine.items()
    }
    result["targets"] = [t for name, by in per_engine.items() for t in targets(name, by[POOLED])]
    result["valid"] = bool(cases)
    return result


def score_record(score: Score) -> dict[str, Any]:
    return {
        **asdict(score),
        "recall": score.recall,
        "paraphrase_recall": score.paraphrase_recall,
        "precision": score.precision,
    }


def targets(engine: str, pooled: Score) -> list[dict[str, Any]]:
    para, precision = pooled.paraphrase_recall, pooled.precision
    return [
        results.target(
            f"{engine}: recall on paraphrased positives >= {PARAPHRASE_RECALL_TARGET}",
            para,
            None if para is None else para >= PARAPHRASE_RECALL_TARGET,
        ),
        results.target(
            f"{engine}: precision >= {PRECISION_TARGET}",
            precision,
            None if precision is None else precision >= PRECISION_TARGET,
        ),
    ]


def score_table(result: dict[str, Any], split: str) -> Table:
    """One row a concept, then pooled; four columns an engine."""
    engines = result["engines"]
    columns = ["concept"] + [f"{name} {what}" for name in engines for what in PER_ENGINE]
    rows = [
        [concept] + [cell for name in engines for cell in score_cells(engines[name][concept])]
        for concept in [*result["concepts"], POOLED]
    ]
    title = f"Recall and precision per concept ({split}, {result['params']['cases']} cases)"
    return Table(title, columns, rows, "l" + "rrrr" * len(engines))


def score_cells(s: dict[str, Any]) -> list[str]:
    return [
        f"{dash(s['recall'], '{:.2f}')} ({s['caught']}/{s['positives']})",
        f"{dash(s['paraphrase_recall'], '{:.2f}')} ({s['paraphrased_caught']}/{s['paraphrased']})",
        dash(s["precision"], "{:.2f}"),
        f"{s['false_hits']} ({s['trap_hits']} traps)",
    ]


def result_notes(result: dict[str, Any]) -> list[str]:
    return [
        "recall: positives that fired their concept; paraphrased: every positive kind "
        "but `literal`; precision: true hits / all hits, where traps and negatives "
        "that fire their concept are the false hits.",
        "each case is the body of an article with an empty title, matched against "
        "its own concept's rule only.",
        *(
            f"target {t['target']}: {dash(t['value'], '{:.3f}')} "
            f"({'met' if t['met'] else 'missed'})"
            for t in result["targets"]
        ),
    ]


def head_lines(result: dict[str, Any]) -> list[str]:
    return [
        f"- started: {result['started']}",
        f"- split: {result['params']['split']}, {result['params']['cases']} cases",
        *results.code_and_command(result, MODULE),
    ]


def errors_document(verdicts: Mapping[str, Sequence[Verdict]], split: str) -> str:
    """Every case an engine got wrong: misses first, then false hits, by concept."""
    lines = [f"# Misses and false hits ({split})", ""]
    for name, vs in verdicts.items():
        wrong = [v for v in vs if v.wrong]
        misses = [v for v in wrong if v.case.label == "positive"]
        false_hits = [v for v in wrong if v.case.label != "positive"]
        lines += [f"## {name}: {len(misses)} misses, {len(false_hits)} false hits", ""]
        lines += ["### Misses", "", *error_rows(misses), "", "### False hits", ""]
        lines += [*error_rows(false_hits, evidence=True), ""]
    return "\n".join(lines)


def error_rows(verdicts: Sequence[Verdict], evidence: bool = False) -> list[str]:
    header = "| id | concept | label | kind | text |" + (" evidence |" if evidence else "")
    rule = "|---|---|---|---|---|" + ("---|" if evidence else "")
    rows = [
        "| "
        + " | ".join(
            [v.case.id, v.case.concept, v.case.label, v.case.kind, cell(v.case.text)]
            + ([cell(v.evidence)] if evidence else [])
        )
        + " |"
        for v in verdicts
    ]
    return [header, rule, *rows]


def cell(text: str) -> str:
    """Text fit for a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":
    sys.exit(main())
