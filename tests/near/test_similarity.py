"""The copy rules on texts a user would recognise: what is a copy, and what is not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.near.similarity import Thresholds, compare, copy_reason, exact
from monitor.near.sketch import features, sketch

STORY = [
    "The European Central Bank held its main interest rate at 4 per cent on Thursday, "
    "with president Christine Lagarde saying that inflation in the euro area was falling "
    "more slowly than the governing council had hoped in the autumn.",
    "Lagarde told reporters in Frankfurt that wage growth in Germany and Spain remained "
    "strong, and that the council would need several more months of data before it could "
    "be confident that prices were under control.",
    "Economists at Deutsche Bank and BNP Paribas had expected the decision, and markets "
    "now see the first cut in June. The euro rose against the dollar after the "
    "announcement, while bond yields in Italy and Greece fell.",
    "The bank also said it would stop reinvesting the proceeds of its pandemic bond "
    "purchase programme at the end of the year, a step that several northern members "
    "of the council had pressed for since the summer.",
    "Consumer prices in the twenty countries that use the euro rose by 2.9 per cent in "
    "the year to October, according to Eurostat, down from more than ten per cent a "
    "year earlier but still above the bank's target of two per cent.",
]
# A spinner's synonyms, as content farms use them (content words only).
SPIN = {
    "held": "stored",
    "main": "chief",
    "saying": "stating",
    "falling": "dropping",
    "slowly": "gradually",
    "hoped": "wished",
    "told": "informed",
    "remained": "stayed",
    "strong": "robust",
    "need": "require",
    "several": "a number of",
    "months": "period",
    "expected": "anticipated",
    "decision": "determination",
    "rose": "climbed",
    "fell": "dropped",
    "stop": "cease",
    "proceeds": "earnings",
    "step": "transfer",
    "pressed": "pushed",
    "prices": "costs",
    "countries": "nations",
    "according": "in line",
    "still": "nonetheless",
}
NOW = datetime(2024, 11, 1, tzinfo=UTC)
LIMITS = Thresholds()


def reason(a: str, b: str) -> str | None:
    return copy_reason(exact(features("", a), features("", b)), NOW, NOW, LIMITS)


def spun(text: str) -> str:
    return " ".join(SPIN.get(word, word) for word in text.split(" "))


def test_a_reprint_with_boilerplate_and_a_dropped_paragraph_is_a_copy() -> None:
    reprint = "FRANKFURT (Wire) - " + "\n\n".join(STORY[:-1]) + "\n\nComments are closed."
    assert reason("\n\n".join(STORY), reprint) == "reprint"


def test_a_copy_cut_to_its_lead_is_a_partial_copy() -> None:
    assert reason("\n\n".join(STORY), STORY[0]) == "partial"


def test_a_spun_copy_is_a_copy() -> None:
    original = "\n\n".join(STORY)
    copy = spun(original)
    assert copy != original
    assert reason(original, copy) == "spun"


def test_an_update_that_reuses_background_paragraphs_is_not_a_copy() -> None:
    update = "\n\n".join(
        [
            "Christine Lagarde defended the decision before the European Parliament in "
            "Brussels on Monday, as members from Italy and Greece asked when borrowing "
            "costs would come down for households and small firms.",
            "She said the council was watching services inflation closely and would not "
            "commit to a date, adding that the bank's independence was not up for debate.",
            STORY[4],
        ]
    )
    assert reason("\n\n".join(STORY), update) is None


def test_sketch_estimates_agree_with_the_exact_measures() -> None:
    original, copy = "\n\n".join(STORY), spun("\n\n".join(STORY))
    estimated = compare(sketch("", original), sketch("", copy))
    measured = exact(features("", original), features("", copy))
    assert abs(estimated.words - measured.words) < 0.2
    assert abs(estimated.masked - measured.masked) < 0.2
    assert estimated.names == measured.names == 1.0


def test_sketches_are_the_same_in_every_process() -> None:
    # Stored sketches must still match after a restart: no per-process hashing.
    import subprocess
    import sys

    code = "from monitor.near.sketch import sketch; print(sketch('', 'Rutte said on Monday').keys)"
    here = repr(sketch("", "Rutte said on Monday").keys)
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == here


def test_the_word_caches_of_a_long_running_worker_stay_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each article brings words never seen before (names, numbers, typos): a worker
    reading for days must not keep them all, and a word's sketch is the same after
    its cache was emptied."""
    from monitor.near import sketch as sketching

    monkeypatch.setattr(sketching, "_HASH_CACHE_LIMIT", 300)
    before = sketch("", "Rutte met Zelenskyy in Kyiv on Monday").keys
    for n in range(200):
        words = " ".join(f"Word{n}x{i} {n * 100 + i}" for i in range(10))
        sketch("", words)
    cached = sketching._vocabulary("en")._codes
    assert len(cached) <= 301 and len(sketching._HASHES) <= 301
    assert sketch("", "Rutte met Zelenskyy in Kyiv on Monday").keys == before
