"""What a digest holds: a story once, updates only when a new rule matches, a cap with "N more"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.alert.digest import build, phrases, urgent
from monitor.core.alerting import Candidate, Source

T0 = datetime(2024, 10, 28, 12, tzinfo=UTC)


def candidate(
    match_id: int,
    story: str,
    rule: str = "troops",
    score: float = 10.0,
    *,
    article: str | None = None,
    copy: bool = False,
    watchlist: str = "nk",
    minutes: int = 0,
) -> Candidate:
    return Candidate(
        match_id=match_id,
        story_key=story,
        article_id=article or f"art{match_id}",
        watchlist=watchlist,
        rule=rule,
        score=score,
        terms=("North Korea",),
        snippet="North Korea sent troops",
        highlights=((0, 11),),
        title=f"title {match_id}",
        url=f"https://example.org/{match_id}",
        source=f"feed {match_id}",
        published=T0 + timedelta(minutes=minutes),
        is_copy=copy,
    )


def test_one_entry_per_story_led_by_the_original_with_the_other_sources() -> None:
    found = [
        candidate(1, "s1", score=20, copy=True),  # the spun copy scores best…
        candidate(2, "s1", score=12, minutes=5),  # …but the original leads
        candidate(3, "s2", score=5),
    ]
    sources = {"s1": [Source("feed 1", "title 1", None), Source("feed 9", "own report", None)]}
    digest = build(found, {}, sources, cap=10)
    first, second = digest.entries
    assert (first.story_key, first.article.match_id) == ("s1", 2)
    assert [s.name for s in first.also] == ["feed 1", "feed 9"]
    assert second.story_key == "s2"
    assert {m for m, _ in digest.settled} == {1, 2, 3}


def test_a_story_sent_before_comes_back_only_when_a_new_rule_matches() -> None:
    sent = {"s1": {("nk", "troops")}}
    again = build([candidate(4, "s1", "troops")], sent, {}, cap=10)
    assert not again and again.settled == ((4, "s1"),)  # settled, sent to nobody
    update = build([candidate(5, "s1", "troops"), candidate(6, "s1", "missiles")], sent, {}, 10)
    (entry,) = update.entries
    assert entry.update and [r for _, r, _ in entry.rules] == ["missiles"]


def test_groups_by_watchlist_best_first_and_a_cap_with_the_rest_counted() -> None:
    found = [
        candidate(i, f"s{i}", score=float(i), watchlist="energy" if i % 2 else "nk")
        for i in range(1, 8)
    ]
    digest = build(found, {}, {}, cap=4)
    assert [g.watchlist for g in digest.groups] == ["energy", "nk"]  # 7 is the best score
    assert [e.score for e in digest.entries] == [7.0, 5.0, 6.0, 4.0]
    assert digest.more == 3
    assert digest.stories == {f"s{i}" for i in range(1, 8)}  # the rest count as told


def test_urgent_stories_are_those_reaching_the_threshold() -> None:
    found = [candidate(1, "s1", score=40), candidate(2, "s2", score=10)]
    assert urgent(found, 30) == ["s1"]
    assert urgent(found, None) == []


def test_every_other_report_is_listed_once_an_outlets_together() -> None:
    own = candidate(1, "s1")
    sources = {
        "s1": [
            Source("feed 1", "title 1", own.url, "art1"),  # the entry's own article
            Source("wire", "first report", "https://wire.example/1", "w1"),
            Source("daily", "reprint", "https://daily.example/1", "w1"),
            Source("wire", "second report", "https://wire.example/2", "w2"),
            Source("wire", "first report", "https://wire.example/1", "w1"),  # seen twice
        ]
    }
    (entry,) = build([own], {}, sources, cap=10).entries
    assert [(s.name, s.title) for s in entry.also] == [
        ("wire", "first report"),
        ("wire", "second report"),
        ("daily", "reprint"),
    ]
    assert entry.outlets == ("feed 1", "wire", "daily")


@pytest.mark.parametrize(
    ("text", "words", "marked"),
    [
        ("North Korea sent troops", ["North", "Korea"], ["North Korea"]),
        ("troops deployed to Kursk", ["troops", "deployed", "Kursk"], ["troops deployed", "Kursk"]),
        ("Kim Jong-un met Putin", ["Kim", "Jong", "un", "Putin"], ["Kim Jong-un", "Putin"]),
        ("the People's Army", ["People", "s", "Army"], ["People's Army"]),
        ("Russia, North Korea", ["Russia", "North", "Korea"], ["Russia", "North Korea"]),
        ("Russia's troops", ["Russia", "troops"], ["Russia", "troops"]),  # 's is a word
    ],
)
def test_matched_words_are_marked_as_phrases(
    text: str, words: list[str], marked: list[str]
) -> None:
    spans, at = [], 0
    for word in words:
        at = text.index(word, at)
        spans.append((at, at + len(word)))
        at += len(word)
    assert [text[a:b] for a, b in phrases(text, spans)] == marked


def test_spans_out_of_the_passage_are_left_out() -> None:
    assert phrases("North Korea", [(0, 5), (6, 11), (9, 40), (3, 3)]) == ((0, 11),)
