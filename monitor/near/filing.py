"""What a batch's decisions store: the values handed to the store (monitor.core.near).

The store maps them to rows and back and decides nothing: which stories a batch
starts and grows, which names a story keeps and under which keys, what is
stored as a verdict's reason and scores, all is settled here. What depends on
the rows as the saving transaction finds them (a story grown by another
worker meanwhile) is decided there, by ``grown_story``, which the store is
handed; so is the sketcher, for an original deleted after its copies
(``text_keys``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitor.core.near import (
    Adoption,
    FiledArticle,
    GrownStory,
    JoinedStory,
    NearFiling,
    NewStory,
)
from monitor.near.decide import Decision
from monitor.near.names import kept_names, story_keys
from monitor.near.sketch import sketch


def filing(decisions: Sequence[Decision]) -> NearFiling:
    """The batch's sketches, keys, stories and verdicts, as the store takes them."""
    by_story: dict[int | str, list[Decision]] = {}
    for decision in decisions:
        by_story.setdefault(decision.story, []).append(decision)
    joined, started = [], []
    for handle, members in by_story.items():
        if isinstance(handle, int):
            # A changed article stays in its story: it is counted there already.
            joining = [m for m in members if m.article.story != handle]
            if joining:
                joined.append(_joined(handle, joining))
        else:
            started.append(_new_story(handle, members))
    return NearFiling(tuple(map(_filed, decisions)), tuple(started), tuple(joined))


def grown_story(joined: JoinedStory, names: dict[str, int], updated: datetime) -> GrownStory:
    """A stored story (its ``names`` and ``updated`` as stored) with ``joined`` in it."""
    grown = Counter(names) + Counter(joined.names)
    return GrownStory(
        kept_names(grown), max(updated, joined.latest), story_keys(set(grown) - set(names))
    )


def text_keys(title: str, body: str, language: str | None) -> tuple[int, ...]:
    """The index keys of a text's sketch (to file a deleted original's for its copy)."""
    return sketch(title, body, language).keys


def _filed(decision: Decision) -> FiledArticle:
    article, found = decision.article, decision.sketch
    adopts = decision.adopts
    return FiledArticle(
        article.article_id,
        article.published,
        article.doc,
        found.words,
        found.masked,
        found.names,
        found.word_count,
        decision.index_keys,
        decision.story,
        decision.duplicate_of,
        # Of an adopted original, the reason and scores describe it, a copy now.
        None if adopts else decision.reason,
        {} if adopts else _explained(decision),
        Adoption(adopts, decision.reason, _explained(decision)) if adopts else None,
    )


def _new_story(handle: str, members: Sequence[Decision]) -> NewStory:
    first = members[0]
    names = Counter(name for m in members for name in m.sketch.story_names)
    return NewStory(
        handle,
        first.article.article_id,
        first.article.title,
        len(members),
        max(m.article.published for m in members),
        kept_names(names),
        story_keys(names),
    )


def _joined(story: int, members: Sequence[Decision]) -> JoinedStory:
    names = Counter(name for m in members for name in m.sketch.story_names)
    latest = max(m.article.published for m in members)
    return JoinedStory(story, len(members), dict(names), latest)


def _explained(decision: Decision) -> dict[str, Any]:
    scores: dict[str, Any] = decision.similarity.as_dict() if decision.similarity else {}
    if decision.story_shared:
        scores["story_names"] = list(decision.story_shared)
    return scores
