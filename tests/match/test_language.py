"""Every feature of the watchlist language, and the mistakes it must not make."""

from __future__ import annotations

import pytest

from tests.match.helpers import actor, article, concept, hits, matched_text, matcher

DEPLOYMENT = [
    ("North Korea's troop deployment to Russia", True),
    ("the troop deployments continued", True),
    ("the deployment of North Korean troops to Kursk", True),
    ("troops have been deployed near the border", True),
    ("Pyongyang is deploying troops", True),
    ("troops were seen at a parade; months later, a new radar was finally deployed", False),
    ("the deployment of a new app to millions of users", False),
]


@pytest.mark.parametrize(("text", "expected"), DEPLOYMENT)
def test_a_concept_phrase_catches_inflections_and_word_order(text: str, expected: bool) -> None:
    assert bool(concept("troop deployment").match(article(text))) is expected


@pytest.mark.parametrize(
    ("term", "text", "expected"),
    [
        ("troops deployed NEAR/1", "troops were deployed", True),
        ("troops deployed NEAR/1", "troops have been quietly deployed", False),
        ("troops deployed NEAR/3", "troops have been quietly deployed", True),
        ("troops deployed NEAR/0", "deployed troops", True),
    ],
)
def test_the_proximity_window_is_the_users_to_set(term: str, text: str, expected: bool) -> None:
    assert bool(concept(term).match(article(text))) is expected


def test_the_window_can_be_set_for_a_whole_concept() -> None:
    text = "troops were, after long and difficult talks, deployed"
    assert not concept("troops deployed").match(article(text))
    assert concept("troops deployed", near=8).match(article(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Iran said on Monday", True),
        ("IRAN said", True),
        ("Iran's foreign minister", True),
        ("Irani traders", False),
        ("officials in Tehran", False),
        ("the Iranian government", False),
        ("Irans", False),  # a name is matched as written
    ],
)
def test_word_boundaries(text: str, expected: bool) -> None:
    assert bool(actor("Iran").match(article(text))) is expected


def test_names_are_matched_as_written_unless_asked_to_stem() -> None:
    # A district called "Banke" must not match every bank.
    assert not actor("Banke").match(article("the bank raised rates"))
    assert actor("Korean*").match(article("North Koreans were seen"))
    stemmed = matcher("actors:\n  a: [{term: Korean, stem: true}]\nrules:\n  r: {all: [a]}\n")
    assert stemmed.match(article("Koreans were seen"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Korea fired a missile", True),
        ("South Korea's central bank cut rates", False),
        ("The Bank of Korea cut rates", False),
        ("South Korea warned that North Korea fired a missile", True),
    ],
)
def test_exclusions_cancel_a_hit_inside_them(text: str, expected: bool) -> None:
    found = actor("North Korea", "Korea", exclude=("South Korea", "Bank of Korea"))
    assert bool(found.match(article(text))) is expected


def test_an_actors_aliases_are_names_side_by_side_in_order() -> None:
    names = actor("North Korea")
    assert names.match(article("North Korea said"))
    assert not names.match(article("Korea's north said"))
    assert not names.match(article("North Macedonia and South Korea"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("The US said", True), ("let us go", False), ("Us and them", False), ("the U.S. said", False)],
)
def test_a_case_sensitive_acronym(text: str, expected: bool) -> None:
    found = matcher(
        """
        actors:
          usa: [{term: US, case: true}]
        rules:
          r: {all: [usa]}
        """
    )
    assert bool(found.match(article(text))) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("forces were redeployed", False),
        ("a deployable force", True),
        ("they deploy", True),
        ("deployments", True),
        ("employment", False),
    ],
)
def test_a_wildcard_matches_words_that_start_with_it(text: str, expected: bool) -> None:
    assert bool(concept("deploy*").match(article(text))) is expected


def test_a_quoted_phrase_is_exact() -> None:
    exact = concept('"boots on the ground"')
    assert exact.match(article("no boots on the ground, he said"))
    assert exact.match(article("Boots -- on the Ground!"))
    assert not exact.match(article("a boot on the ground"))
    assert not exact.match(article("boots on the grounds"))


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("Sao Paulo", "protests in São Paulo"),
        ("São Paulo", "protests in Sao Paulo"),
        ("Kim Jong Un", "Kim Jong-un met envoys"),
        ("Kim Jong-un", "KIM JONG UN met envoys"),
        ("Zürich", "ZURICH banks"),
    ],
)
def test_case_diacritics_punctuation_and_hyphens_do_not_matter(term: str, text: str) -> None:
    assert actor(term).match(article(text))


def test_what_hit_is_reported_on_the_stored_text() -> None:
    art = article("Protests grew in São Paulo and Kim Jong-un was absent.")
    found = actor("Sao Paulo", "Kim Jong Un").match(art)
    assert sorted(matched_text(found, art)) == ["Jong", "Kim", "Paulo", "São", "un"]
    snippet = found[0].snippet
    assert [snippet[s:e] for s, e in found[0].highlights] == ["São", "Paulo", "Kim", "Jong", "un"]


def test_a_phrase_does_not_run_from_the_title_into_the_body() -> None:
    assert not actor("Korea North").match(article("North Korea", title="Seoul and Korea"))


def test_a_regular_expression_term() -> None:
    found = matcher(
        r"""
        concepts:
          tanks: [{regex: '\bT-?(72|80|90)\b'}]
        rules:
          r: {all: [tanks]}
        """
    )
    assert found.match(article("a column of T-72 tanks"))
    assert not found.match(article("T-720 is a model number"))


WATCHLIST = """
actors:
  nk: [North Korea, Pyongyang]
  ru: [Russia, Moscow]
  sk: [South Korea, Seoul]
concepts:
  troops: [troops]
  missiles: [ballistic missile]
rules:
  all_and_any: {all: [nk], any: [troops, missiles]}
  with_none: {all: [nk, ru], none: [sk]}
  title_only: {all: [nk], fields: [title]}
  scored: {all: [nk, missiles], weights: {missiles: 3}, min_score: 5}
  english_only: {all: [ru], languages: [en]}
  one_feed: {all: [ru], feeds: ["*wire*"]}
"""


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("", "Pyongyang sent troops", ["all_and_any"]),
        ("", "Pyongyang said nothing", []),
        ("", "North Korea and Russia", ["english_only", "with_none"]),
        ("", "North Korea, Russia and South Korea", ["english_only"]),
        ("North Korea", "nothing here", ["title_only"]),
        ("", "North Korea tested a ballistic missile", ["all_and_any"]),
        (
            "",
            "North Korea tested a ballistic missile, then another ballistic missile",
            ["all_and_any", "scored"],
        ),
    ],
)
def test_rules_combine_all_any_none_fields_and_scores(
    title: str, body: str, expected: list[str]
) -> None:
    found = matcher(WATCHLIST).match(article(body, title=title))
    assert hits(found) == [f"test/{rule}" for rule in expected]


def test_language_and_feed_filters() -> None:
    rules = matcher(WATCHLIST)
    wire = article("Moscow said", language="en", feed_url="https://globalwire.example/rss")
    french = article("Moscow said", language="fr", feed_url="https://globalwire.example/rss")
    other = article("Moscow said", language="en", feed_url="https://other.example/rss")
    assert hits(rules.match(wire)) == ["test/english_only", "test/one_feed"]
    assert hits(rules.match(french)) == ["test/one_feed"]
    assert hits(rules.match(other)) == ["test/english_only"]


def test_the_stemmer_follows_the_articles_language() -> None:
    found = matcher(
        """
        concepts:
          vote: [élection présidentielle]
        rules:
          r: {all: [vote]}
        """,
        languages=("en", "fr"),
    )
    assert found.match(article("les élections présidentielles", language="fr"))
    assert found.match(article("les elections presidentielles", language="fr-FR"))


def test_a_score_counts_each_term_at_most_three_times() -> None:
    found = concept("missile").match(article("missile " * 10))
    assert found[0].score == 3


def test_explain_says_why_a_rule_did_not_match() -> None:
    verdicts = {v.rule: v for v in matcher(WATCHLIST).explain(article("North Korea and Seoul"))}
    assert verdicts["with_none"].reasons[0] == "'ru' (all) does not occur"
    assert verdicts["all_and_any"].reasons == ("none of troops, missiles (any) occurs",)
    assert (
        "below min_score"
        in matcher(WATCHLIST)
        .explain(article("North Korea tested a ballistic missile"))[3]
        .reasons[0]
    )
    assert verdicts["title_only"].matched is False
