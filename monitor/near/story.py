"""Which story an article belongs to: the outlets' own reports of one event, together.

Pure: no I/O. A story is known by the names its articles use ("Rutte", "Kursk",
"Pyongyang"), counted over its articles; its core is the names half of them
use. An article joins the story, among those updated within the window, whose
core covers the largest share of the article's names (weighted by rarity:
"Kursk" counts for more than "Russia"), when that share and the count of shared
names both pass their thresholds; otherwise it starts a story of its own. A
story of one article is that article, and the pair is judged alike whichever
came first: the share is of the article's names or of the story's, the larger.
(A wire report naming thirty people and places, arriving after a short analysis
naming ten of them, joins it, as the analysis would have joined the report.)
A copy always joins its original's story. Names carry the event: two reports of
one event name the same people and places, two reports of different events that
share a country rarely share four names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class StoryLimits:
    shared: int = 5  # names in common, at least
    coverage: float = 0.5  # share of the names in common (see ``choose_story``), at least
    window: timedelta = timedelta(days=14)  # since the story's latest article


@dataclass(frozen=True, slots=True)
class StoryCandidate:
    """A story an article may join.

    ``names`` may leave out names no article being decided uses: whether a name
    is in the core depends on its own count alone, and an article is only
    compared with the core on its own names.
    """

    id: int | str  # a stored story's id, or the first article of one made in this run
    names: Mapping[str, int]  # name -> articles of the story naming it
    updated: datetime
    articles: int = 1
    # A story of one article: the summed weight of its names ``names`` leaves out.
    unnamed: float = 0.0

    def core(self) -> set[str]:
        """The names at least half its articles use: what the story is about.

        Comparing with every name any article used would let a story grow
        without end (a campaign's articles all name the party leaders).
        """
        return {name for name, count in self.names.items() if 2 * count >= self.articles}

    def weight(self, weights: Mapping[str, float]) -> float:
        """A story of one article: its names' summed weight (``weights`` has ``names``)."""
        return self.unnamed + sum(weights[name] for name in self.names)


@dataclass(frozen=True, slots=True)
class StoryChoice:
    story: int | str
    shared: tuple[str, ...]
    coverage: float


def choose_story(
    names: Sequence[str],
    weights: Sequence[float],
    published: datetime,
    candidates: Sequence[StoryCandidate],
    limits: StoryLimits,
    name_weights: Mapping[str, float],
) -> StoryChoice | None:
    """The story this article joins, or None when it starts its own.

    ``name_weights`` holds the weight of every name in the candidates' ``names``.
    Only a story of one article is measured by its own names as well: with more,
    its core shrinks to what they share, and small stories would draw in every
    long article naming their few names (a campaign's reports all name the
    party leaders).
    """
    if not names:
        return None
    best: StoryChoice | None = None
    weight = dict(zip(names, weights, strict=True))
    total = sum(weights)
    for story in candidates:
        if abs(published - story.updated) > limits.window:
            continue
        core = story.core()
        shared = tuple(name for name in names if name in core)
        if len(shared) < limits.shared:
            continue
        whole = min(total, story.weight(name_weights)) if story.articles == 1 else total
        coverage = sum(weight[name] for name in shared) / whole
        if coverage < limits.coverage:
            continue
        if best is None or (coverage, len(shared)) > (best.coverage, len(best.shared)):
            best = StoryChoice(story.id, shared, coverage)
    return best
