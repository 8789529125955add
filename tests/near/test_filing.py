"""What the near stage hands the store and makes of what it reads back (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.core.near import JoinedStory, NearArticle, StoredSketch, StoredStory
from monitor.near.decide import Decision
from monitor.near.filing import filing, grown_story
from monitor.near.names import STORY_NAMES_KEPT, name_key, story_keys
from monitor.near.similarity import Similarity
from monitor.near.sketch import Sketch, name_weight
from monitor.near.stored import candidate_of, known_of

T0 = datetime(2024, 10, 28, 14, 0, tzinfo=UTC)
CLOSE = Similarity(0.9, 0.9, 0.95, 1.0, 0.9, 300, exact=True)


def decided(
    article_id: str,
    story: int | str,
    names: tuple[str, ...],
    *,
    hours: int = 0,
    stored_story: int | None = None,
    copy_of: str | None = None,
    adopts: str | None = None,
) -> Decision:
    published = T0 + timedelta(hours=hours)
    article = NearArticle(
        article_id, f"Title {article_id}", "", "en", published, None, stored_story
    )
    sketch = Sketch(b"w" * 64, b"m" * 64, (7, 8), (1, 2), 30, names, (3.0,) * len(names))
    copy = copy_of is not None or adopts is not None
    return Decision(
        article,
        sketch,
        copy_of,
        "reprint" if copy else None,
        CLOSE if copy else None,
        story,
        ("Rutte",) if not copy and isinstance(story, int) else (),
        (7,),
        adopts,
    )


def test_a_stored_story_keeps_its_most_used_names_and_files_only_the_new_ones() -> None:
    stored = {f"old{i}": 2 for i in range(STORY_NAMES_KEPT - 1)}
    joined = JoinedStory(5, 2, {"old0": 2, "Kursk": 2, "Rutte": 1}, T0 + timedelta(hours=1))
    grown = grown_story(joined, stored, T0)
    assert len(grown.names) == STORY_NAMES_KEPT
    order = list(grown.names)
    assert (order[0], grown.names["old0"]) == ("old0", 4)  # the most used first
    assert order[-1] == "Kursk"  # a tie: after the names stored first
    assert "Rutte" not in grown.names  # one too many
    assert grown.keys == story_keys(["Kursk", "Rutte"])  # still findable by a dropped name
    assert grown.updated == T0 + timedelta(hours=1)
    assert grown_story(joined, stored, T0 + timedelta(days=1)).updated == T0 + timedelta(days=1)


def test_a_stored_story_is_counted_on_the_names_asked_and_weighed_on_the_others() -> None:
    asked = {"Rutte": "Rutte", "Kursk": "Kursk"}
    names = {"Rutte": 1, "Umerov": 1, "Sybiha": 1}
    single = candidate_of(asked)(StoredStory(3, names, T0, 1))
    assert (single.id, dict(single.names), single.articles) == (3, {"Rutte": 1}, 1)
    assert single.unnamed == name_weight("Umerov") + name_weight("Sybiha")
    several = candidate_of(asked)(StoredStory(4, names, T0, 2))
    assert several.unnamed == 0.0  # only a story of one article is weighed on its own names


def test_a_stored_sketch_with_no_original_nor_story_is_its_own() -> None:
    alone = known_of(StoredSketch("a", T0, b"w", b"m", (1, 2), 30, None, None))
    assert (alone.root, alone.story, alone.sketch.keys) == ("a", "a", ())
    copy = known_of(StoredSketch("c", T0, b"w", b"m", (1, 2), 30, "a", 9))
    assert (copy.root, copy.story) == ("a", 9)


def test_a_batch_files_the_stories_it_starts_and_those_it_joins() -> None:
    filed = filing(
        [
            decided("a", "a", ("Rutte", "Kursk")),
            decided("b", "a", ("Kursk", "Kyiv"), hours=2, copy_of="a"),
            decided("c", 5, ("Rutte",), hours=1),
            decided("d", 5, ("Seoul",), stored_story=5),  # changed: counted there already
            decided("e", 6, ("Seoul",), stored_story=6),
        ]
    )
    [started] = filed.new_stories
    assert (started.handle, started.first_article, started.title) == ("a", "a", "Title a")
    assert (started.articles, started.updated) == (2, T0 + timedelta(hours=2))
    assert started.names == {"Kursk": 2, "Rutte": 1, "Kyiv": 1}
    assert started.keys == tuple(sorted({name_key(n) for n in ("Rutte", "Kursk", "Kyiv")}))
    [joined] = filed.joined_stories  # story 6 only had a changed article: not grown
    assert joined == JoinedStory(5, 1, {"Rutte": 1}, T0 + timedelta(hours=1))
    copy = filed.articles[1]
    assert (copy.story, copy.duplicate_of, copy.reason) == ("a", "a", "reprint")
    assert copy.scores == CLOSE.as_dict()
    assert filed.articles[2].scores == {"story_names": ["Rutte"]}


def test_an_adopted_original_gets_the_reason_and_scores_not_the_article() -> None:
    [article] = filing([decided("early", 5, (), adopts="late")]).articles
    assert (article.duplicate_of, article.reason, article.scores) == (None, None, {})
    assert article.adopts is not None
    assert (article.adopts.original, article.adopts.reason) == ("late", "reprint")
    assert article.adopts.scores == CLOSE.as_dict()
