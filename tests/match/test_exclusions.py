"""Exclusions and overlapping names: the longer name wins, and a name is counted once."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.match.engine import Matcher, RuleVerdict
from monitor.match.index import compile_index
from monitor.watchlist.load import load_watchlist
from tests.match.helpers import actor, article, matched_text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = Matcher(compile_index([load_watchlist(ROOT / "watchlists" / "north-korea-russia.yaml")]))


def rules(text: str) -> set[str]:
    return {m.rule for m in EXAMPLE.match(article(text))}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Democratic People's Republic of Korea has sent troops to Russia.", True),
        ("The DEMOCRATIC PEOPLE'S REPUBLIC OF KOREA has sent troops to Russia.", True),
        ("The Republic of Korea has sent troops to Russia.", False),
        ("South Korea has sent troops to Russia.", False),
    ],
)
def test_an_alias_that_contains_an_exclusion_counts_in_the_example(
    text: str, expected: bool
) -> None:
    assert ("troops_for_russia" in rules(text)) is expected


def test_the_longer_alias_wins_over_an_exclusion_inside_it() -> None:
    pboc = actor("People's Bank of China", "China", exclude=("Bank of China",))
    assert pboc.match(article("The People's Bank of China cut rates."))
    assert not pboc.match(article("The Bank of China cut rates."))
    text = article("The People's Bank of China cut rates; China's exports fell.")
    (found,) = pboc.match(text)
    assert matched_text([found], text) == ["People", "s", "Bank", "of", "China", "China"]


def test_a_name_inside_a_longer_name_is_counted_once() -> None:
    names = actor("North Korea", "Korea")
    text = article("North Korea said. North Korea denied it. Korea is divided.")
    (found,) = names.match(text)
    assert found.score == 3  # two "North Korea", one bare "Korea"
    assert [(t.term, len(t.hits)) for t in found.terms] == [("North Korea", 4), ("Korea", 1)]


def explained(matcher: Matcher, text: str) -> RuleVerdict:
    (verdict,) = matcher.explain(article(text))
    return verdict


def test_explain_counts_occurrences_as_a_reader_does() -> None:
    verdict = explained(actor("North Korea", "Korea"), "North Korea said. North Korea denied it.")
    assert [(t.term, t.times) for t in verdict.terms] == [("North Korea", 2)]
    assert [t.spans for t in verdict.terms] == [(("body", 0, 11), ("body", 18, 29))]


def test_explain_says_which_exclusion_vetoed_which_hit() -> None:
    names = actor("North Korea", "Korea", exclude=("South Korea", "Bank of Korea"))
    verdict = explained(names, "South Korea and North Korea met; the Bank of Korea froze assets.")
    assert verdict.matched
    assert [(v.ref, v.term, v.span, v.exclusion, v.at) for v in verdict.vetoes] == [
        ("x", "Korea", ("body", 6, 11), "South Korea", ("body", 0, 11)),
        ("x", "Korea", ("body", 45, 50), "Bank of Korea", ("body", 37, 50)),
    ]
    vetoed = explained(names, "South Korea said so.")
    assert not vetoed.matched
    assert vetoed.reasons == ("'x' (all) does not occur (every hit is inside an exclusion)",)
