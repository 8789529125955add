"""Story choice: the same articles make the same stories whichever arrived first."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.near.sketch import name_weight
from monitor.near.story import StoryCandidate, StoryLimits, choose_story

T0 = datetime(2024, 10, 28, 14, 0, tzinfo=UTC)
# Rare names weigh 3, a country about 1: a pool with both kinds.
POOL = [
    *("rutte", "kursk", "umerov", "sybiha", "pyongyang", "kyiv", "kremlin", "nato", "seoul"),
    *("brussels", "ukraine", "russia", "korea", "moscow", "putin", "iran", "japan"),
]
LIMITS = StoryLimits()

names_of_an_article = st.lists(st.sampled_from(POOL), min_size=1, max_size=len(POOL), unique=True)


def story_of(names: list[str]) -> StoryCandidate:
    return StoryCandidate("first", Counter(names), T0)


def joins(names: list[str], story: StoryCandidate) -> bool:
    weights = {name: name_weight(name) for name in [*names, *story.names]}
    published = T0 + timedelta(hours=1)
    ours = [weights[n] for n in names]
    return choose_story(names, ours, published, [story], LIMITS, weights) is not None


@given(names_of_an_article, names_of_an_article)
def test_two_articles_share_a_story_whichever_came_first(a: list[str], b: list[str]) -> None:
    assert joins(b, story_of(a)) == joins(a, story_of(b))


def test_a_report_joins_the_story_a_shorter_analysis_of_the_event_started() -> None:
    analysis = ["rutte", "kyiv", "pyongyang", "nato", "ukraine", "russia", "iran", "japan"]
    wire = [*POOL[:12], "ukraine", "russia", "korea", "moscow", "putin"]
    assert joins(analysis, story_of(wire))  # the order the sample corpus usually comes in
    assert joins(wire, story_of(analysis))


def test_five_shared_names_are_still_needed_however_small_the_story() -> None:
    small = ["rutte", "kursk", "umerov", "sybiha"]
    assert not joins(POOL, story_of(small))


def test_a_longer_story_is_not_joined_for_a_few_of_its_names() -> None:
    """Only a story of one article is measured by its own names as well: a story of
    several keeps the names half its articles share, and a long article naming
    five of them is not about the same event."""
    six = ["rutte", "kursk", "umerov", "sybiha", "pyongyang", "kyiv"]
    article = [*six, "zaluzhny", "syrskyi", "shoigu", "budanov", "yermak", "kuleba", "tusk"]
    assert joins(article, StoryCandidate(1, Counter(six), T0, 1))
    assert not joins(article, StoryCandidate(1, Counter(dict.fromkeys(six, 2)), T0, 2))


def test_the_names_a_stored_story_leaves_out_still_count() -> None:
    """A stored story comes with the counts of the batch's names only; for a story of
    one article, the rest come as their weight, which keeps the article from joining
    for a few of them."""
    shared = ["rutte", "kursk", "umerov", "sybiha", "pyongyang"]
    article = [*shared, "zaluzhny", "syrskyi", "shoigu", "budanov", "yermak", "kuleba"]
    ten_more = 10 * name_weight("zzyzx")
    assert not joins(article, StoryCandidate(1, Counter(shared), T0, 1, ten_more))  # 5 of 15
    assert joins(article, StoryCandidate(1, Counter(shared), T0, 1))  # all the story's names
