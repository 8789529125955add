"""Scenario: fuzzing the code that reads the outside world, one Figure per target.

Every property of tests.reliability.test_fuzz (feed parser, normalisation, URL
canonicalisation, watchlist loader, matcher) is run for ``scale.runs × per_run``
generated examples with hypothesis; a failure is an exception other than the
project's own for that input, or a broken invariant, each reported with the input
hypothesis shrank it to. When atheris is installed the feed parser is also fuzzed
coverage-guided for a few seconds per run (tests.reliability.atheris_feed).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from tests.reliability.figures import Figure, Scale
from tests.reliability.test_fuzz import PROPERTIES, Property

PER_RUN = 100  # examples of each property per run of the scale (2,000 at full scale)
ATHERIS_SECONDS_PER_RUN = 3
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Outcome:
    examples: int
    failures: tuple[str, ...]  # one per distinct bug: the error and the shrunk input


def fuzz_figures(scale: Scale, per_run: int = PER_RUN) -> list[Figure]:
    examples = scale.runs * per_run
    targets = dict.fromkeys(prop.target for prop in PROPERTIES)
    figures = [
        _figure(target, [p for p in PROPERTIES if p.target == target], examples)
        for target in targets
    ]
    if importlib.util.find_spec("atheris") is not None:
        figures.append(atheris_figure(scale.runs * ATHERIS_SECONDS_PER_RUN))
    return figures


def _figure(target: str, props: Sequence[Property], examples: int) -> Figure:
    outcomes = [run_property(prop, examples) for prop in props]
    tried = sum(o.examples for o in outcomes)
    failures = [f"{p.name}: {f}" for p, o in zip(props, outcomes, strict=True) for f in o.failures]
    outcome = f"{len(failures)} failures in {tried:,} examples"
    if failures:
        outcome += " — " + "; ".join(failures)
    return Figure(
        area="parsing",
        hazard=f"fuzzing the {target}: {', '.join(p.name for p in props)}",
        tries=tried,
        outcome=outcome,
        target="0 crashes, 0 broken invariants",
        met=not failures,
    )


def run_property(prop: Property, examples: int) -> Outcome:
    """Run ``prop`` for ``examples`` generated inputs; count them and the bugs found."""
    count = 0

    def counted(case: Any) -> None:
        nonlocal count
        count += 1
        prop.check(case)

    test = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=True,
    )(given(prop.strategy)(counted))
    try:
        test()
    except Exception as exc:
        errors = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
        return Outcome(count, tuple(_described(error) for error in errors))
    return Outcome(count, ())


def _described(error: BaseException) -> str:
    """The error and the falsifying example hypothesis attached to it, on one line."""
    notes = [n for n in getattr(error, "__notes__", []) if not n.startswith("Explanation")]
    text = f"{type(error).__name__}: {error} | {' '.join(notes)}"
    return re.sub(r"\s+", " ", text)[:600]


# --- atheris ---------------------------------------------------------------------

_DONE = re.compile(r"Done (\d+) runs")


def atheris_figure(seconds: int) -> Figure:
    """libFuzzer (atheris) on the feed parser for ``seconds``, from the test feeds."""
    with tempfile.TemporaryDirectory(prefix="monitor-atheris-") as work:
        corpus = Path(work) / "corpus"
        corpus.mkdir()
        for seed in (ROOT / "tests" / "parse" / "data").iterdir():
            if seed.is_file() and not seed.name.endswith(".golden.json"):
                shutil.copy(seed, corpus / seed.name)
        done = subprocess.run(
            [sys.executable, "-m", "tests.reliability.atheris_feed", str(corpus),
             f"-max_total_time={seconds}", "-timeout=20", "-rss_limit_mb=4096"],
            cwd=work, capture_output=True, text=True, timeout=seconds + 120, check=False,
            env=_child_env(),
        )  # fmt: skip
    runs = _DONE.search(done.stderr)
    tries = int(runs[1]) if runs else 0
    crashed = done.returncode != 0
    outcome = f"{'a crash' if crashed else 'no crash'} in {tries:,} inputs ({seconds} s)"
    if crashed:
        outcome += f" (exit {done.returncode}) — " + _crash_reason(done.stderr)
    return Figure(
        area="parsing",
        hazard="coverage-guided fuzzing of the feed parser (atheris)",
        tries=tries,
        outcome=outcome,
        target="0 crashes",
        met=not crashed and tries > 0,
    )


# Where libFuzzer's or Python's account of a crash starts in the fuzzer's stderr.
_CRASH_START = re.compile(r"==\d+== ERROR|Uncaught Python exception|Traceback|ERROR: libFuzzer")


def _crash_reason(stderr: str) -> str:
    """The fuzzer's own account of the crash, not its progress lines before it."""
    lines = stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if _CRASH_START.search(line)), None)
    told = lines[start:] if start is not None else lines[-12:]
    return " ".join(told)[:900]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env
