"""The near-duplicate stage: every new or changed article is compared with the corpus.

    store.pending_near(batch)                   articles whose ``near_at`` is NULL
      | sketch(title, body, language)           Sketch (monitor.near.sketch)
      | store.near_filed(keys)                  the index entries under the batch's keys
      | worth_screening(filed, sketches)        those that may matter (monitor.near.candidates)
      | store.near_bins(docs, since)            their bins, in the window
      | worth_reading(bins, sketches)           those passing the prefilter for some article
      | store.near_known(docs)                  those sketches whole: candidates
      | store.near_texts(plausible)              texts of the candidates whose sketches
                                                agree: verdicts rest on exact measures
      | store.story_candidates(keys, since)     recent stories sharing a name
      | batch.decide(article, sketch)           copy of which original, which story
                                                (monitor.near.decide, pure)
      | store.save_near(filing(decisions))      sketches, keys, stories and verdicts,
                                                in one transaction (monitor.near.filing)

The store (``NearStore``, monitor.near.storage) maps values to rows and back;
what they mean is decided here (monitor.near.stored, monitor.near.filing).

It runs after each poll cycle and before matching, so a digest knows each
article's story. Whatever an earlier run left (a crash before the save) is
picked up by the next run.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from monitor.core.clock import Clock
from monitor.core.errors import StorageError
from monitor.core.memory import fewer_collections, release_free_memory
from monitor.core.near import NearArticle
from monitor.near.candidates import stored_bins, worth_reading, worth_screening
from monitor.near.decide import Decision, Known, new_batch
from monitor.near.filing import filing, grown_story
from monitor.near.names import story_keys
from monitor.near.similarity import Thresholds
from monitor.near.sketch import Features, Shingles, Sketch, features
from monitor.near.storage import NearStore
from monitor.near.stored import candidate_of, known_of
from monitor.near.story import StoryCandidate, StoryLimits

log = structlog.get_logger("monitor.near")
# About 8 KB each (the shingle sets of a 400-word text). On the workers benchmark's
# load, 250 kept 89 % of the hits 1,000 had (1,819 against 2,040), for 5 MB less.
RECENT_FEATURES = 250
READ_AHEAD = 256  # stored texts read at once, for the next articles to decide


@dataclass(frozen=True, slots=True)
class NearReport:
    articles: int = 0
    copies: int = 0
    new_stories: int = 0
    joined_stories: int = 0  # articles, not copies, that joined another article's story


class NearStage:
    def __init__(
        self,
        store: NearStore,
        clock: Clock,
        limits: Thresholds,
        story_limits: StoryLimits,
        batch: int = 500,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.store, self.clock, self.batch = store, clock, batch
        self.limits, self.story_limits = limits, story_limits
        self.progress = progress
        # The shingles of recently decided articles: their copies tend to come in the
        # next batches, and featurising a stored text again costs as much as the first
        # time. Keyed by article, with a digest of the text to check the one read.
        self._recent: OrderedDict[str, tuple[bytes, Shingles]] = OrderedDict()

    def run(self) -> NearReport:
        """Batch by batch until none is pending.

        Each batch's pages are handed back once it is saved: glibc would keep them,
        and a long run's resident memory would grow by the pieces each batch left.
        """
        with fewer_collections():  # see monitor.core.memory
            return self._run()

    def _run(self) -> NearReport:
        totals = Counter[str]()
        while pending := self.store.pending_near(self.batch):
            decisions = self.decide(pending)
            if not self._save(decisions):
                break
            totals.update(_outcome(d) for d in decisions)
            totals["articles"] += len(decisions)
            if self.progress:
                self.progress(len(decisions))
            del decisions, pending
            release_free_memory()  # see ``run``'s docstring
        return NearReport(totals["articles"], totals["copy"], totals["new"], totals["joined"])

    def _save(self, decisions: Sequence[Decision]) -> bool:
        try:
            self.store.save_near(filing(decisions), self.clock.now(), grown_story)
        except StorageError as exc:
            # Nothing of the batch was saved: the next run decides it again.
            log.error("near.save_failed", articles=len(decisions), error=str(exc))
            return False
        return True

    def decide(self, pending: Sequence[NearArticle]) -> list[Decision]:
        # Articles of one batch arrived together: the earliest published is the original.
        pending = sorted(pending, key=lambda a: (a.published, a.article_id))
        found = [_features(article) for article in pending]
        sketches = [f.sketch for f in found]
        earliest = min(article.published for article in pending)
        postings, counts = self._candidates(pending, sketches, earliest - self.limits.window)
        stories = self._stories(sketches, earliest - self.story_limits.window)
        batch = new_batch(postings, counts, stories, sketches, self.limits, self.story_limits)
        del postings, stories  # the batch has them; what it lets go of is freed
        ids = {a.article_id for a in pending}
        wants = [batch.plausible(a, s) - ids for a, s in zip(pending, sketches, strict=True)]
        batch.all_screened()
        batch.texts = _StoredTexts(self.store.near_texts, wants, self._stored_shingles)
        decisions = [batch.decide(a, f) for a, f in zip(pending, found, strict=True)]
        self._remember(pending, found)
        return decisions

    def _candidates(
        self, pending: Sequence[NearArticle], sketches: Sequence[Sketch], since: datetime
    ) -> tuple[dict[int, list[Known]], Counter[int]]:
        """The stored sketches sharing a key with the batch that pass the sieves of
        monitor.near.candidates, read whole; and how many sketches each key has."""
        filed, counts = self.store.near_filed(key for s in sketches for key in s.keys)
        # An article decided before stands among its candidates (see ``Batch._fresh``).
        own = {article.doc for article in pending if article.doc is not None}
        screened = worth_screening(filed, counts, sketches) | own
        stored = stored_bins(filed, self.store.near_bins(screened, since))
        wanted = (worth_reading(stored, sketches, self.limits) | own) & set(stored.docs.tolist())
        known = {doc: known_of(found) for doc, found in self.store.near_known(wanted).items()}
        postings: dict[int, list[Known]] = {}
        for key, rows in stored.filed.items():
            if found := [known[doc] for doc in stored.docs[rows].tolist() if doc in known]:
                postings[key] = found
        return postings, counts

    def _stories(self, sketches: Sequence[Sketch], since: datetime) -> list[StoryCandidate]:
        """The stored stories using a name of the batch, with the counts of those names."""
        asked = {name: name for s in sketches for name in s.story_names}  # each string once
        return self.store.story_candidates(story_keys(asked), since, candidate_of(asked))

    def _stored_shingles(self, stored: NearArticle) -> Shingles:
        recent = self._recent.get(stored.article_id)
        if recent is not None and recent[0] == _text_digest(stored):
            return recent[1]
        return _shingles(_features(stored))

    def _remember(self, pending: Sequence[NearArticle], found: Sequence[Features]) -> None:
        for article, its in zip(pending, found, strict=True):
            self._recent[article.article_id] = (_text_digest(article), _shingles(its))
            self._recent.move_to_end(article.article_id)
        while len(self._recent) > RECENT_FEATURES:
            self._recent.popitem(last=False)


class _StoredTexts:
    """The texts of a batch's stored candidates (thousands late in a large run), read a
    few articles ahead of the decisions, featurised when first compared, and let go
    of when the batch is done with them."""

    def __init__(
        self,
        read: Callable[[Iterable[str]], list[NearArticle]],
        wants: list[set[str]],
        featurise: Callable[[NearArticle], Shingles],
    ) -> None:
        self._read, self._wants, self._featurise = read, wants, featurise
        self._wanted = set().union(*wants)
        self._ahead = 0  # articles whose texts were read
        self._asked: set[str] = set()
        self._texts: dict[str, NearArticle | Shingles] = {}

    def shingles(self, article_id: str) -> Shingles | None:
        if article_id not in self._wanted:
            return None
        if article_id not in self._asked:
            self._read_ahead(article_id)
        found = self._texts.get(article_id)
        if isinstance(found, NearArticle):
            found = self._texts[article_id] = self._featurise(found)
        return found

    def done_with(self, article_id: str) -> None:
        self._texts.pop(article_id, None)

    def _read_ahead(self, needed: str) -> None:
        """The texts the next articles want, when ``needed`` is one of them; else it alone
        (an article compares with a text a much later one wanted: read the rest now,
        and they would wait in memory for most of the batch)."""
        ids: set[str] = set()
        ahead = self._ahead
        while ahead < len(self._wants) and len(ids) < READ_AHEAD:
            ids |= self._wants[ahead] - self._asked
            ahead += 1
        if needed in ids:
            self._ahead = ahead
        else:
            ids = {needed}
        self._asked |= ids
        self._texts.update((text.article_id, text) for text in self._read(ids))


def _features(article: NearArticle) -> Features:
    try:
        return features(article.title, article.body, article.language)
    except Exception:  # a bug on one article must not stop the others: it stands alone
        log.exception("near.internal_error", article=article.article_id)
        return features("", "", None)


def _shingles(found: Features) -> Shingles:
    """The shingles alone: a stored text's sketch is the one stored."""
    return Shingles(found.words, found.masked, found.names)


def _text_digest(article: NearArticle) -> bytes:
    """What features() reads (and nothing else), digested: equal digests, equal features."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (article.title, article.body, article.language or ""):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    digest.update(b"\x01" if article.language is None else b"\x00")
    return digest.digest()


def _outcome(decision: Decision) -> str:
    if decision.duplicate_of:
        return "copy"
    if decision.story == decision.article.article_id:
        return "new"
    return "joined"
