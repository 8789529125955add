"""The second spinner family (bench/neardup_thesaurus.py) on the real WordNet: it must
spin what today's spinner leaves alone (names, collocations, the headline), or the
evaluation it feeds tests nothing new."""

from __future__ import annotations

import random

import pytest

from bench.neardup_thesaurus import WORDNET, WordNet, cut, spin_all

pytestmark = pytest.mark.skipif(
    not (WORDNET / "index.noun").is_file(), reason="WordNet (wordnet-base) not installed"
)

TEXT = (
    "Talks in London",
    "The Security Council said India would send more troops to the border.",
    "Officials in London said the plan was agreed last week.",
    "A third paragraph follows the second one here.",
)


@pytest.fixture(scope="module")
def wordnet() -> WordNet:
    return WordNet.load()


def test_names_and_collocations_have_synonyms(wordnet: WordNet) -> None:
    assert "Bharat" in wordnet.synonyms["india"]
    assert "Jack London" in wordnet.synonyms["london"]
    assert "business firm" in wordnet.synonyms["firm"]  # multi-word synonyms offered


def test_full_rate_replaces_names_and_headline(wordnet: WordNet) -> None:
    spun = spin_all(TEXT, 1.0, random.Random(3), wordnet)
    assert spun.parts[0] != TEXT[0]
    assert "Bharat" in spun.parts[1] or "Republic of India" in spun.parts[1]
    assert "Security Council" not in spun.parts[1]


def test_rate_is_reached_and_seeded(wordnet: WordNet) -> None:
    first = spin_all(TEXT, 0.3, random.Random(7), wordnet)
    again = spin_all(TEXT, 0.3, random.Random(7), wordnet)
    assert first == again
    assert 0.3 <= first.rate < 0.45


def test_cut_drops_a_later_paragraph_and_retitles() -> None:
    title, body = cut(TEXT[0], TEXT[1:], random.Random(1))
    assert len(body) == 2 and body[0] == TEXT[1]
    assert title == "The Security Council said India would send more troops to"
