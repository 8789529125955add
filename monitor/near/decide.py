"""Deciding, for a batch of new articles, which are copies and which story each joins.

Pure: the stored candidates come in as values, the decisions go out as values.
Articles are decided in the order they were published, and each one decided
becomes a candidate for the ones after it, so a batch holding an original and
its copies links them exactly as if they had arrived one poll apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from monitor.core.near import NearArticle
from monitor.near._sketch import filed_under
from monitor.near.similarity import (
    Similarity,
    Thresholds,
    compare,
    copy_reason,
    decisive,
    exact,
    plausible,
    screen,
)
from monitor.near.sketch import Features, Shingles, Sketch
from monitor.near.story import StoryCandidate, StoryChoice, StoryLimits, choose_story

KEY_CAP = 32  # a key shared by this many sketches says nothing: no more are filed under it
PER_ORIGINAL = 2  # members of one copy cluster verified against a new article
REFILE_AFTER = timedelta(days=1)  # a copy this much later than its cluster is filed anew


@dataclass(frozen=True, slots=True)
class Known:
    """A sketch already decided: stored, or earlier in this batch."""

    article_id: str
    published: datetime
    sketch: Sketch
    root: str  # the original it copies, or itself
    story: int | str


Screened = tuple[Known, Similarity]


class StoredTexts(Protocol):
    """The stored candidates' texts a batch compares with, featurised."""

    def shingles(self, article_id: str) -> Shingles | None:
        """The text's shingles; None when it was not read (the sketches decide) or is
        purged, or once ``done_with`` it."""
        ...

    def done_with(self, article_id: str) -> None:
        """No article left to decide compares with it."""
        ...


class _NoTexts:
    def shingles(self, article_id: str) -> Shingles | None:
        return None

    def done_with(self, article_id: str) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Decision:
    article: NearArticle
    sketch: Sketch
    duplicate_of: str | None
    reason: str | None
    similarity: Similarity | None
    story: int | str  # a stored story, or the article id that starts one in this batch
    story_shared: tuple[str, ...]
    index_keys: tuple[int, ...]  # keys to file the sketch under (not the saturated ones)
    # A stored original this article turned out to predate: it and its copies
    # become copies of this article (``reason`` and ``similarity`` describe the pair).
    adopts: str | None = None


@dataclass
class Batch:
    """What a run knows: the stored candidates, and what it has decided so far."""

    postings: dict[int, list[Known]]  # key -> sketches filed under it
    key_counts: Counter[int]  # key -> sketches filed under it, stored ones included
    stories: dict[int | str, StoryCandidate]
    # name -> stories using it, each once (a list: a set costs four times the bytes,
    # and thousands of names are indexed per batch)
    story_index: dict[str, list[int | str]]
    name_weights: dict[str, float]  # the weight of each name the batch's articles use
    limits: Thresholds
    story_limits: StoryLimits
    features: dict[str, Shingles] = field(default_factory=dict)  # decided here: id -> its text's
    # Late in a large run a batch compares with thousands of stored texts: each is let
    # go of once the last article that screened it is decided.
    texts: StoredTexts = field(default_factory=_NoTexts)
    reroots: dict[str, str] = field(default_factory=dict)  # old original -> new one
    _stored_screen: dict[str, list[Screened]] = field(default_factory=dict)
    _decided_ids: set[str] = field(default_factory=set)
    _batch_postings: dict[int, list[Known]] = field(default_factory=dict)  # decided here
    _stored_ids: set[str] = field(default_factory=set)  # articles among the stored postings
    _redecided: bool = False  # one of them was decided again in this batch
    _story_counts: dict[int | str, Counter[str]] = field(default_factory=dict)  # grown here
    _uses: Counter[str] = field(default_factory=Counter)  # stored id -> articles screening it
    _stored_dropped: bool = False  # see ``all_screened``
    # key -> the copy clusters (their originals) filed under it among the stored
    # postings, each with its latest member there: see ``_keys_to_file``
    _roots_under: dict[int, dict[str, datetime]] = field(default_factory=dict)

    def plausible(self, article: NearArticle, sketch: Sketch) -> set[str]:
        """Stored candidates whose sketches pass the loose prefilter: texts worth reading.

        Asked of every article before any is decided; ``decide`` reuses the answer
        and screens only the articles decided since. A stored text is let go once
        the last article that screened it is decided.
        """
        screened = self._screen(self._candidates(article, sketch), sketch)
        self._stored_screen[article.article_id] = screened
        uses, limits = self._uses, self.limits
        worth: set[str] = set()
        for known, estimate in screened:
            uses[known.article_id] += 1
            if not decisive(estimate, limits):
                worth.add(known.article_id)
        return worth

    def all_screened(self) -> None:
        """Every article of the batch was asked ``plausible``: the stored postings are let
        go of (thousands of sketches late in a large run; the few each article kept
        stay with it), unless an article filed among them is in the batch (stored
        before, decided again: its stored entry stands in for it, see ``_fresh``).
        """
        batch = self._stored_screen  # an article decided again leaves its old entries
        self._roots_under = {
            key: _latest_by_root(filed, batch) for key, filed in self.postings.items()
        }
        if self._stored_ids.isdisjoint(self._stored_screen):
            self.postings = {}
            self._stored_dropped = True

    def _screened(self, article: NearArticle, sketch: Sketch) -> list[Screened]:
        earlier = self._stored_screen.get(article.article_id)
        if earlier is None:
            if self._stored_dropped:  # its stored candidates are gone: a misuse
                raise ValueError(f"article {article.article_id} was not screened first")
            return self._screen(self._candidates(article, sketch), sketch)
        merged = sorted(
            earlier + self._screen(self._fresh(article, sketch), sketch),
            key=_closeness,
            reverse=True,
        )
        return self._per_original(merged)

    def _fresh(self, article: NearArticle, sketch: Sketch) -> list[Known]:
        """The candidates decided in this batch, in the order ``_candidates`` gives them.

        Found in the batch's own postings: the stored ones were screened already,
        and there are many more of them. Once an article stored before is decided
        again (its text changed), it is filed twice, and its stored entry stands
        for it: then all candidates are sorted out as before.
        """
        if self._redecided:
            fresh = self._candidates(article, sketch)
            return [known for known in fresh if known.article_id in self._decided_ids]
        return filed_under(self._batch_postings, sketch.keys, article.article_id)

    def _screen(self, candidates: list[Known], sketch: Sketch) -> list[Screened]:
        """The candidates that pass the prefilter, closest first, with their estimates."""
        if not candidates:
            return []
        limits = self.limits
        passed = [candidates[i] for i in screen(sketch, [k.sketch for k in candidates], limits)]
        kept = []
        for known in [passed[i] for i in self._per_root(passed)]:
            estimate = compare(sketch, known.sketch)
            if plausible(estimate, limits):
                kept.append((known, estimate))
        return kept

    def _per_original(self, ordered: list[Screened]) -> list[Screened]:
        """Every member of a copy cluster leads to the same original: the two that look
        closest are enough to judge it (a wire story may have hundreds of copies)."""
        return [ordered[i] for i in self._per_root([known for known, _ in ordered])]

    def _per_root(self, ordered: list[Known]) -> list[int]:
        """``_per_original``'s choice among sketches: the indexes of those kept."""
        tried: dict[str, int] = {}
        kept = []
        reroots = self.reroots
        for i, known in enumerate(ordered):
            root = reroots.get(known.root, known.root)
            count = tried.get(root, 0)
            if count < PER_ORIGINAL:
                tried[root] = count + 1
                kept.append(i)
        return kept

    def decide(self, article: NearArticle, features: Features) -> Decision:
        sketch = features.sketch
        copy = self._best_copy(article, features)
        self._compared(article)
        shared: tuple[str, ...] = ()
        adopts = None
        if copy is not None:
            known, found_reason, found_similarity = copy
            duplicate_of: str | None = self.reroots.get(known.root, known.root)
            reason: str | None = found_reason
            similarity: Similarity | None = found_similarity
            story = known.story
            if duplicate_of == known.article_id and article.published < known.published:
                # Arrived later but published earlier: this one is the original.
                adopts, duplicate_of = known.article_id, None
        else:
            duplicate_of, reason, similarity = None, None, None
            # A changed article stays in its story; a new one looks for its story.
            choice = None if article.story is not None else self._story(article, sketch)
            story = choice.story if choice else (article.story or article.article_id)
            shared = choice.shared if choice else ()
        decision = Decision(
            article,
            sketch,
            duplicate_of,
            reason,
            similarity,
            story,
            shared,
            self._keys_to_file(sketch.keys, duplicate_of, article.published),
            adopts,
        )
        if adopts:
            self.reroots[adopts] = article.article_id
        self.features[article.article_id] = features
        self._remember(decision)
        return decision

    def _keys_to_file(
        self, keys: tuple[int, ...], original: str | None, published: datetime
    ) -> tuple[int, ...]:
        """The keys not full yet (more sketches are filed under them), less, for a copy,
        those its cluster has a member under, published at most REFILE_AFTER before it.

        A later copy finds the cluster there through that member; filing each copy
        again added only rows (three in four of a copy's keys are its original's, on
        the evaluation set) and filled a wire story's keys to the cap, after which
        they said nothing. The member leaves the window (``Thresholds.window``) that
        much before the copy would: a copy of the copy published in between, at the
        window's end, is not found there.
        """
        counts = self.key_counts
        open_keys = [key for key in keys if counts.get(key, 0) < KEY_CAP]
        if original is None:
            return tuple(open_keys)
        since = published - REFILE_AFTER
        return tuple([key for key in open_keys if not self._cluster_under(key, original, since)])

    def _cluster_under(self, key: int, original: str, since: datetime) -> bool:
        reroots = self.reroots
        for root, latest in self._roots_under.get(key, {}).items():
            if latest >= since and reroots.get(root, root) == original:
                return True
        return any(
            known.published >= since and reroots.get(known.root, known.root) == original
            for known in self._batch_postings.get(key, ())
        )

    def _candidates(self, article: NearArticle, sketch: Sketch) -> list[Known]:
        return filed_under(self.postings, sketch.keys, article.article_id)

    def _best_copy(
        self, article: NearArticle, features: Features
    ) -> tuple[Known, str, Similarity] | None:
        best: tuple[Known, str, Similarity] | None = None
        judged: set[str] = set()  # originals a member already proved this a copy of
        for known, similarity in self._screened(article, features.sketch):
            if self.reroots.get(known.root, known.root) in judged:
                continue
            other = self._text(known.article_id)
            if other is not None:  # its text is at hand (not purged): measure exactly
                similarity = exact(features, other)
            reason = copy_reason(similarity, article.published, known.published, self.limits)
            if reason:
                judged.add(self.reroots.get(known.root, known.root))
                if best is None or _strength(similarity) > _strength(best[2]):
                    best = (known, reason, similarity)
        return best

    def _text(self, article_id: str) -> Shingles | None:
        found = self.features.get(article_id)  # decided in this batch
        return found if found is not None else self.texts.shingles(article_id)

    def _compared(self, article: NearArticle) -> None:
        """Let go of the stored texts no article still to decide screened."""
        for known, _ in self._stored_screen.pop(article.article_id, ()):
            left = self._uses[known.article_id] = self._uses[known.article_id] - 1
            if not left:
                del self._uses[known.article_id]
                self.texts.done_with(known.article_id)

    def _story(self, article: NearArticle, sketch: Sketch) -> StoryChoice | None:
        # Only stories sharing enough names are worth scoring ("UK" alone meets hundreds).
        hits = Counter(s for name in sketch.story_names for s in self.story_index.get(name, ()))
        enough = self.story_limits.shared
        # In a fixed order, so that a tie goes the same way in every process (set order
        # follows string hashing, which differs between runs): the stored stories by
        # id, then the batch's own.
        found = sorted((s for s, count in hits.items() if count >= enough), key=_story_order)
        candidates = [self.stories[s] for s in found]
        return choose_story(
            sketch.story_names,
            sketch.story_weights,
            article.published,
            candidates,
            self.story_limits,
            self.name_weights,
        )

    def _remember(self, decision: Decision) -> None:
        self._decided_ids.add(decision.article.article_id)
        self._redecided |= decision.article.article_id in self._stored_ids
        article, sketch = decision.article, decision.sketch
        known = Known(
            article.article_id,
            article.published,
            sketch,
            decision.duplicate_of or article.article_id,
            decision.story,
        )
        self._file(known, decision.index_keys)
        self._grow_story(decision)

    def _file(self, known: Known, keys: tuple[int, ...]) -> None:
        """Filed under ``keys``, for the articles after it to find."""
        counts = self.key_counts
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
        found_in = [self._batch_postings]
        if not self._stored_dropped:  # else no one reads them (see ``all_screened``)
            found_in.append(self.postings)
        for postings in found_in:
            for key in keys:
                filed = postings.get(key)
                if filed is None:
                    postings[key] = [known]
                else:
                    filed.append(known)

    def _grow_story(self, decision: Decision) -> None:
        article, sketch = decision.article, decision.sketch
        story = self.stories.get(decision.story)
        # The stored counts are copied once, the first time the batch grows the story.
        names = self._story_counts.get(decision.story)
        if names is None:
            names = self._story_counts[decision.story] = Counter(story.names if story else {})
        # The story is listed under each of its names already: those it did not use yet.
        unlisted = [name for name in sketch.story_names if name not in names]
        names.update(sketch.story_names)
        self.stories[decision.story] = StoryCandidate(
            decision.story,
            names,
            max(story.updated, article.published) if story else article.published,
            story.articles + 1 if story else 1,
            story.unnamed if story else 0.0,
        )
        index = self.story_index
        for name in unlisted:
            index.setdefault(name, []).append(decision.story)


def _closeness(pair: Screened) -> tuple[float, float]:
    return _strength(pair[1])


def _strength(similarity: Similarity) -> tuple[float, float]:
    return (max(similarity.words, similarity.containment), similarity.masked)


def _latest_by_root(filed: list[Known], leave: Container[str]) -> dict[str, datetime]:
    """Each cluster among ``filed`` (but the articles in ``leave``), with its latest member."""
    latest: dict[str, datetime] = {}
    for known in filed:
        if known.article_id not in leave:
            found = latest.get(known.root)
            if found is None or known.published > found:
                latest[known.root] = known.published
    return latest


def _story_order(story: int | str) -> tuple[bool, int, str]:
    return (True, 0, story) if isinstance(story, str) else (False, story, "")


def new_batch(
    postings: dict[int, list[Known]],
    key_counts: Counter[int],
    stories: Sequence[StoryCandidate],
    sketches: Iterable[Sketch],
    limits: Thresholds,
    story_limits: StoryLimits,
) -> Batch:
    """The batch of ``sketches`` takes ``postings`` and ``key_counts`` over (not copied:
    thousands of candidates): it files the articles it decides in them."""
    index: dict[str, list[int | str]] = {}
    for story in stories:
        for name in story.names:
            index.setdefault(name, []).append(story.id)
    return Batch(
        postings,
        key_counts,
        {story.id: story for story in stories},
        index,
        {n: w for s in sketches for n, w in zip(s.story_names, s.story_weights, strict=True)},
        limits,
        story_limits,
        _stored_ids={k.article_id for known in postings.values() for k in known},
    )
