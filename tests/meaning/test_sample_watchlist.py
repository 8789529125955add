"""The sample's watchlist catches reports of its event worded without its terms.

tests/meaning/data/sample_event.yaml holds reports of the sample corpus's event
(North Korean troops sent to Russia) that use none of the troop_deployment terms,
and traps naming the same actors about something else; the shipped watchlist,
watchlists/north-korea-russia.yaml, is read as a user has it, with the real model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.core.types import ArticleText
from monitor.match.engine import Matcher
from monitor.match.index import compile_index
from monitor.match.meaning import MEANING_TERM, concept_texts
from monitor.meaning.encoder import load_encoder
from monitor.meaning.judge import Judge
from monitor.watchlist.load import load_watchlist

ROOT = Path(__file__).parents[2]
CASES: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "data/sample_event.yaml").read_text()
)
RULE = CASES["rule"]


@pytest.fixture(scope="module")
def matchers(model_dir: Path) -> tuple[Matcher, Matcher]:
    watchlist = load_watchlist(ROOT / "watchlists/north-korea-russia.yaml")
    concepts = concept_texts([watchlist])
    judge = Judge(load_encoder(str(model_dir)), concepts)
    return Matcher(compile_index([watchlist])), Matcher(compile_index([watchlist]), judge, concepts)


def rules(matcher: Matcher, text: str) -> dict[str, Any]:
    return {m.rule: m for m in matcher.match(ArticleText("case", "", text, "en"))}


@pytest.mark.parametrize("text", CASES["reports"])
def test_a_report_in_other_words_is_caught_by_meaning(
    matchers: tuple[Matcher, Matcher], text: str
) -> None:
    lexical, meaning = matchers
    assert RULE not in rules(lexical, text)  # none of the listed terms: today's engine misses it
    match = rules(meaning, text)[RULE]
    (by_meaning,) = [t for t in match.terms if t.term.startswith(MEANING_TERM)]
    assert by_meaning.ref == "troop_deployment"
    assert by_meaning.hits == (("body", 0, len(text)),)  # the sentence is the evidence


@pytest.mark.parametrize("text", CASES["traps"])
def test_a_report_of_something_else_about_the_same_actors_is_not(
    matchers: tuple[Matcher, Matcher], text: str
) -> None:
    assert RULE not in rules(matchers[1], text)
