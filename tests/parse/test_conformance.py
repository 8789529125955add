"""Every document of four other feed parsers' test suites, through our parser.

Prints agreement per suite and field (once with our documented choices counted as
agreement, once strictly) and writes every difference with its reason to a file
outside the checkout: ``$MONITOR_CONFORMANCE_OUT`` or pytest's temporary folder.
The fixtures are read where they are (``../shared/data/feed-fixtures`` next to
the checkout, or ``$MONITOR_FEED_FIXTURES``); in CI their absence is a failure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.parse.conformance import (
    POOLED,
    VARIANTS,
    Outcome,
    agreement,
    apply_choices,
    compare_document,
    load_choices,
    manifest,
    overreach,
    parse_document,
    table,
)

CHECKOUT = Path(__file__).resolve().parents[2]
FIXTURES = Path(
    os.environ.get("MONITOR_FEED_FIXTURES") or CHECKOUT / ".." / "shared" / "data" / "feed-fixtures"
).resolve()
CHOICES = Path(__file__).with_name("conformance_choices.yaml")
TARGET = 0.99


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    if not (FIXTURES / "manifest.jsonl").is_file():
        message = f"feed fixtures not found at {FIXTURES} (set MONITOR_FEED_FIXTURES)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    found: list[Outcome] = []
    for row in manifest(FIXTURES):
        found.extend(compare_document(row, parse_document(FIXTURES, row)))
    return found


def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("MONITOR_CONFORMANCE_OUT")
    path = Path(wanted) if wanted else tmp_path_factory.mktemp("conformance") / "report.jsonl"
    path = path.resolve()
    assert not path.is_relative_to(CHECKOUT), f"the report must be outside the checkout: {path}"
    return path


def test_our_parser_agrees_with_the_other_parsers_suites(
    outcomes: list[Outcome],
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    choices = load_choices(CHOICES)
    judged = apply_choices(outcomes, choices)
    differences = [o for o in judged if o.choice or not o.ok]
    path = report_path(tmp_path_factory)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as report:
        for o in differences:
            line = {**o.__dict__, "reason": o.choice or o.reason, "choice": bool(o.choice)}
            report.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
    with_choices, strict = agreement(judged), agreement(outcomes)
    with capsys.disabled():  # shown by every run, CI's included, not only on failure
        print(f"\nfeed conformance, {len({o.doc for o in outcomes})} documents")
        print("agreement (documented choices count as agreement):\n" + table(with_choices))
        print("strict agreement:\n" + table(strict))
        print(f"{len(differences)} differences with their reasons: {path}")

    unexplained = [o for o in judged if not o.ok]
    refusals = [o for o in unexplained if o.field in ("accepted", "count")]
    assert not refusals, f"acceptance or entry counts differ (see {path}): {refusals[:5]}"
    for field in POOLED:
        key = ("ALL", field + "*" if field in VARIANTS else field)
        good, seen = with_choices.get(key, (0, 0))
        assert seen and good / seen >= TARGET, f"{key[1]}: {good}/{seen} agree (see {path})"
    unused = [c.reason[:60] for c in choices if not any(c.covers(o) for o in outcomes if not o.ok)]
    assert not unused, f"documented choices that explain no difference: {unused}"
    broad = overreach(choices, outcomes)
    assert not broad, f"choices naming documents they explain nothing in: {broad[:10]}"
