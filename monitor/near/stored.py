"""What the near stage makes of what the store reads back: candidates and stories."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from monitor.core.near import StoredSketch, StoredStory
from monitor.near.decide import Known
from monitor.near.sketch import Sketch, name_weight
from monitor.near.story import StoryCandidate


def known_of(stored: StoredSketch) -> Known:
    """A stored sketch as a candidate: its keys are not needed, nor its story names."""
    article = stored.article_id
    sketch = Sketch(stored.words, stored.masked, (), stored.names, stored.word_count)
    story = stored.story if stored.story is not None else article
    return Known(article, stored.published, sketch, stored.duplicate_of or article, story)


def candidate_of(asked: Mapping[str, str]) -> Callable[[StoredStory], StoryCandidate]:
    """A stored story as a candidate for articles using the ``asked`` names (each name
    mapped to the one string the batch holds), with the counts of those names only.

    Near the end of a batch of 500 most stories of the window share a name with
    it, and each keeps 64: all their counts were 30 MB per batch, few of them read.
    The store hands each story over as it reads it (see ``NearStore.story_candidates``).
    """

    def candidate(story: StoredStory) -> StoryCandidate:
        counts, unnamed = _counts_of(story.names, asked, story.articles)
        return StoryCandidate(story.id, counts, story.updated, story.articles, unnamed)

    return candidate


def _counts_of(
    names: Mapping[str, int], asked: Mapping[str, str], articles: int
) -> tuple[dict[str, int], float]:
    """The counts of the asked names; for a story of one article, the others' weight."""
    counts: dict[str, int] = {}
    unnamed = 0.0
    for name, count in names.items():
        if name in asked:
            counts[asked[name]] = count
        elif articles == 1:  # see ``choose_story``
            unnamed += name_weight(name)
    return counts, unnamed
