"""Rules keep their logic when concepts also match by meaning (monitor.match.meaning).

What a sentence means is scripted here (``Scripted``: the sentences a reading says
mean a concept, and the ones it says use a term in another sense), so that these
tests pin the rule logic alone: all/any/none, fields, min_score, how a meaning hit
counts, vetoes. The judge's own reading, with the real model, is tested in
tests/meaning; the two together in tests/meaning/test_end_to_end.py.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.core.types import ArticleText, Match
from monitor.match.engine import Matcher
from monitor.match.index import compile_index
from monitor.match.meaning import APART, MEANING_TERM, concept_texts
from monitor.meaning.judge import MeaningHit, MeaningVeto
from monitor.meaning.sentences import Sentence, split_article
from monitor.watchlist.load import parse_watchlist

WATCHLIST = """
    name: korea
    actors:
      north_korea: [North Korea, DPRK, Pyongyang]
    concepts:
      troop_deployment:
        description: Soldiers sent to, or stationed in, an area.
        terms: [troop* deploy*, sent troops]
      peace_talks:
        terms: [peace talks]
        meaning: false
    rules:
      deployments:
        all: [north_korea, troop_deployment]
      any_deployment:
        any: [troop_deployment]
      no_deployment:
        all: [north_korea]
        none: [troop_deployment]
      strong:
        all: [north_korea, troop_deployment]
        min_score: 2
      talks:
        all: [peace_talks]
      in_titles:
        all: [troop_deployment]
        fields: [title]
"""


@dataclass
class Scripted:
    """A reading that says which sentences mean which concept (by a phrase in them)."""

    means: dict[str, str] = field(default_factory=dict)  # concept name → phrase of the sentence
    other_sense: dict[str, str] = field(default_factory=dict)  # concept name → phrase
    title: str = ""
    body: str = ""

    def hits(self, concept_key: str) -> tuple[MeaningHit, ...]:
        phrase = self.means.get(concept_key.split("/")[1])
        sentence = self._sentence(phrase)
        if sentence is None:
            return ()
        return (MeaningHit(concept_key, sentence, 0.61, 0.27, "description"),)

    def veto(self, concept_key: str, field: str, start: int, end: int) -> MeaningVeto | None:
        sentence = self._sentence(self.other_sense.get(concept_key.split("/")[1]))
        if (
            sentence is None
            or sentence.field != field
            or not sentence.start <= start < sentence.end
        ):
            return None
        return MeaningVeto(concept_key, sentence, 0.08, "similarity 0.08 is below 0.25")

    def _sentence(self, phrase: str | None) -> Sentence | None:
        if phrase is None:
            return None
        return next((s for s in split_article(self.title, self.body) if phrase in s.text), None)


class ScriptedJudge:
    def __init__(self, reading: Scripted) -> None:
        self.reading = reading

    def read_many(self, articles: Sequence[tuple[str, str]]) -> list[Scripted]:
        out = []
        for title, body in articles:
            self.reading.title, self.reading.body = title, body
            out.append(self.reading)
        return out


def matcher(reading: Scripted) -> Matcher:
    watchlist = parse_watchlist(textwrap.dedent(WATCHLIST).encode(), "korea.yaml", "korea")
    concepts = concept_texts([watchlist])
    return Matcher(compile_index([watchlist]), ScriptedJudge(reading), concepts)


def by_rule(found: list[Match]) -> dict[str, Match]:
    return {m.rule: m for m in found}


def article(body: str, title: str = "") -> ArticleText:
    return ArticleText("a1", title, body, "en")


PARAPHRASE = "Pyongyang has dispatched several thousand soldiers to the border."
ELSEWHERE = (
    "Several thousand soldiers were dispatched to the border on Monday. "
    "In other news, North Korea opened a new stadium."
)


def test_a_paraphrase_read_by_meaning_satisfies_all_with_its_sentence_as_evidence() -> None:
    found = by_rule(
        matcher(Scripted({"troop_deployment": "dispatched"})).match(article(PARAPHRASE))
    )
    match = found["deployments"]
    meaning = [t for t in match.terms if t.ref == "troop_deployment"]
    assert len(meaning) == 1 and meaning[0].term.startswith(MEANING_TERM)
    assert meaning[0].hits == (("body", 0, len(PARAPHRASE)),)
    assert "0.61" in meaning[0].term and "0.27" in meaning[0].term  # similarity and threshold
    assert match.score == 2.0  # one alias, and the concept in the same sentence (1)
    assert match.highlights == ((0, len(PARAPHRASE)),)  # the digest marks the whole sentence


def test_without_meaning_the_same_paraphrase_matches_nothing_that_needs_the_concept() -> None:
    found = by_rule(matcher(Scripted()).match(article(PARAPHRASE)))
    assert "deployments" not in found and "any_deployment" not in found
    assert "no_deployment" in found  # North Korea without the concept


def test_a_concept_and_an_actor_in_unrelated_sentences_count_for_less() -> None:
    found = by_rule(matcher(Scripted({"troop_deployment": "dispatched"})).match(article(ELSEWHERE)))
    assert found["deployments"].score == 1 + APART
    assert "strong" not in found  # min_score 2 is not reached apart
    together = by_rule(
        matcher(Scripted({"troop_deployment": "dispatched"})).match(article(PARAPHRASE))
    )
    assert "strong" in together


def test_none_applies_to_a_concept_found_by_meaning() -> None:
    found = by_rule(
        matcher(Scripted({"troop_deployment": "dispatched"})).match(article(PARAPHRASE))
    )
    assert "no_deployment" not in found
    verdicts = {
        v.rule: v
        for v in matcher(Scripted({"troop_deployment": "dispatched"})).explain(article(PARAPHRASE))
    }
    assert not verdicts["no_deployment"].matched
    assert "by meaning" in verdicts["no_deployment"].reasons[0]


def test_all_still_requires_the_actor() -> None:
    text = "Thousands of soldiers were dispatched to the border region."
    found = by_rule(matcher(Scripted({"troop_deployment": "dispatched"})).match(article(text)))
    assert "deployments" not in found
    assert "any_deployment" in found


def test_a_rules_fields_limit_where_meaning_may_match() -> None:
    reading = Scripted({"troop_deployment": "dispatched"})
    assert "in_titles" not in by_rule(matcher(reading).match(article(PARAPHRASE)))
    titled = article("Nothing else here.", title="Soldiers dispatched to the border")
    assert "in_titles" in by_rule(matcher(reading).match(titled))


def test_a_concept_with_meaning_off_is_not_read_by_meaning() -> None:
    reading = Scripted({"peace_talks": "dispatched"})
    assert "talks" not in by_rule(matcher(reading).match(article(PARAPHRASE)))


def test_a_term_used_in_another_sense_is_vetoed_and_the_verdict_says_why() -> None:
    text = "North Korea said the troop deployment software update was delayed."
    reading = Scripted(other_sense={"troop_deployment": "software"})
    found = by_rule(matcher(reading).match(article(text)))
    assert "deployments" not in found
    verdicts = {v.rule: v for v in matcher(reading).explain(article(text))}
    verdict = verdicts["deployments"]
    assert not verdict.matched
    assert verdict.used_otherwise and "below" in verdict.used_otherwise[0][1].why
    assert "another sense" in verdict.reasons[0]


def test_a_term_not_vetoed_keeps_todays_match_exactly() -> None:
    text = "North Korea sent troops to the border."
    lexical = Matcher(
        compile_index([parse_watchlist(textwrap.dedent(WATCHLIST).encode(), "k.yaml", "k")])
    )
    today = by_rule(lexical.match(article(text)))
    with_meaning = by_rule(matcher(Scripted()).match(article(text)))
    assert with_meaning["deployments"].terms == today["deployments"].terms
    assert with_meaning["deployments"].score == today["deployments"].score


def test_a_judge_that_fails_leaves_the_lexical_matches_and_says_why() -> None:
    class Failing:
        def read_many(self, articles: Sequence[tuple[str, str]]) -> list[Scripted]:
            raise RuntimeError("onnx session died")

    watchlist = parse_watchlist(textwrap.dedent(WATCHLIST).encode(), "korea.yaml", "korea")
    matcher = Matcher(compile_index([watchlist]), Failing(), concept_texts([watchlist]))
    text = "North Korea sent troops to the border."
    read = matcher.read([article(text)])
    assert "deployments" in by_rule(read.matches[0])
    assert read.meaning_missed is not None and "RuntimeError" in read.meaning_missed


def test_an_article_naming_none_of_a_rules_actors_is_not_read_by_the_model() -> None:
    class Counting(ScriptedJudge):
        def __init__(self, reading: Scripted) -> None:
            super().__init__(reading)
            self.read: list[str] = []

        def read_many(self, articles: Sequence[tuple[str, str]]) -> list[Scripted]:
            self.read += [body for _, body in articles]
            return super().read_many(articles)

    only_actors = (
        textwrap.dedent(WATCHLIST)
        .replace("  any_deployment:\n    any: [troop_deployment]\n", "")
        .replace("  in_titles:\n    all: [troop_deployment]\n    fields: [title]\n", "")
    )
    assert "any_deployment" not in only_actors and "in_titles" not in only_actors
    watchlist = parse_watchlist(only_actors.encode(), "korea.yaml", "korea")
    judge = Counting(Scripted({"troop_deployment": "dispatched"}))
    matcher = Matcher(compile_index([watchlist]), judge, concept_texts([watchlist]))
    elsewhere = "Thousands of soldiers were dispatched to a border far from here."
    found = matcher.match_many([article(PARAPHRASE), article(elsewhere)])
    assert judge.read == [PARAPHRASE]  # the other names no North Korea: no rule can match
    assert "deployments" in by_rule(found[0]) and found[1] == []


TWO_CONCEPTS = """
    name: markets
    concepts:
      oil_prices:
        description: The price of crude oil moves.
        terms: [oil price]
      supply_disruption:
        description: Oil supply is cut or disrupted.
        terms: [supply disruption]
    rules:
      shock:
        all: [oil_prices, supply_disruption]
        min_score: 2
"""


def two_concepts(reading: Scripted) -> Matcher:
    watchlist = parse_watchlist(textwrap.dedent(TWO_CONCEPTS).encode(), "m.yaml", "markets")
    concepts = concept_texts([watchlist])
    return Matcher(compile_index([watchlist]), ScriptedJudge(reading), concepts)


def test_two_concepts_found_by_meaning_in_unrelated_sentences_count_for_less() -> None:
    text = "Crude climbed to a six-month high. Separately, a pipeline was shut by a strike."
    apart = Scripted({"oil_prices": "Crude climbed", "supply_disruption": "pipeline"})
    assert "shock" not in by_rule(two_concepts(apart).match(article(text)))  # 0.5 + 0.5 < 2
    (verdict,) = two_concepts(apart).explain(article(text))
    assert verdict.score == 2 * APART
    assert {c.apart_from for _, c in verdict.meaning} == {("oil_prices",), ("supply_disruption",)}
    together = "Crude climbed to a six-month high after a pipeline was shut by a strike."
    one = Scripted({"oil_prices": "Crude climbed", "supply_disruption": "Crude climbed"})
    assert by_rule(two_concepts(one).match(article(together)))["shock"].score == 2
