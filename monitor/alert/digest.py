"""What a route's next digest holds: one entry per story, grouped by watchlist.

Pure: the candidates (matches this route has not settled yet) and what was
sent before come in; the digest and the matches it settles come out. A story
already sent to the route comes back only as an update, and only when a rule it
had not matched before matches now; a new source for the same rules is not news.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from monitor.core.alerting import Candidate, Settlement, Source

Span = tuple[int, int]
# What may separate two matched words of one phrase: "North Korea", "Kim Jong-un",
# "People's"; a comma, a full stop or another word ends the phrase.
_JOINER = re.compile(r"[\s\-\u2010\u2011'\u2019]*")
_MATCHED_MAX = 12


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One story of a digest."""

    story_key: str
    article: Candidate  # the best representative: an original, best score, earliest
    rules: tuple[tuple[str, str, float], ...]  # (watchlist, rule, score), best first
    terms: tuple[str, ...]
    also: tuple[Source, ...] = ()
    update: bool = False  # the story was sent before; a new rule matched it
    highlights: tuple[Span, ...] = ()  # the matched phrases in the article's snippet
    matched: tuple[str, ...] = ()  # the article's words that matched, as written there

    @property
    def score(self) -> float:
        return self.rules[0][2]

    @property
    def watchlist(self) -> str:
        return self.rules[0][0]

    @property
    def outlets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.article.source, *(s.name for s in self.also))))


@dataclass(frozen=True, slots=True)
class Group:
    watchlist: str
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    groups: tuple[Group, ...]
    more: int  # stories past the cap, counted, not shown
    # Every candidate this digest disposes of, as (match id, story key); the
    # stories it tells (past the cap included) count as sent, the others are
    # folded into a story sent before.
    settled: tuple[tuple[int, str], ...] = ()
    stories: frozenset[str] = frozenset()
    outlets: frozenset[str] = frozenset()  # every story's, past the cap too
    articles: int = 0  # every story's reports: its best article and the others

    @property
    def entries(self) -> tuple[DigestEntry, ...]:
        return tuple(e for g in self.groups for e in g.entries)

    def __bool__(self) -> bool:
        return bool(self.groups)

    @property
    def settlement(self) -> Settlement:
        """What the store records with the digest: the matches it disposes of."""
        return Settlement(self.settled, self.stories)


def build(
    candidates: Sequence[Candidate],
    sent_rules: Mapping[str, set[tuple[str, str]]],
    sources: Mapping[str, Sequence[Source]],
    cap: int,
) -> Digest:
    """The digest of ``candidates``; ``sent_rules`` holds the rules sent per story key."""
    entries = []
    for key, found in _by_story(candidates).items():
        before = sent_rules.get(key)
        fresh = [c for c in found if before is None or (c.watchlist, c.rule) not in before]
        if fresh:
            entries.append(_entry(key, found, fresh, sources.get(key, ()), before is not None))
    entries.sort(key=lambda e: (-e.score, -e.article.published.timestamp(), e.story_key))
    shown, more = entries[:cap], len(entries) - min(cap, len(entries))
    return Digest(
        groups=_grouped(shown),
        more=more,
        settled=tuple(sorted((c.match_id, c.story_key) for c in candidates)),
        stories=frozenset(e.story_key for e in entries),
        outlets=frozenset(name for e in entries for name in e.outlets),
        articles=sum(1 + len(e.also) for e in entries),
    )


def urgent(candidates: Iterable[Candidate], threshold: float | None) -> list[str]:
    """Story keys with a match at or above ``threshold``: sent at once, one alert each."""
    if threshold is None:
        return []
    return sorted({c.story_key for c in candidates if c.score >= threshold})


def _by_story(candidates: Iterable[Candidate]) -> dict[str, list[Candidate]]:
    stories: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        stories.setdefault(candidate.story_key, []).append(candidate)
    return stories


def _entry(
    key: str,
    found: Sequence[Candidate],
    fresh: Sequence[Candidate],
    sources: Sequence[Source],
    update: bool,
) -> DigestEntry:
    best = min(found, key=lambda c: (c.is_copy, -c.score, c.published, c.article_id))
    rules: dict[tuple[str, str], float] = {}
    for c in fresh:
        rules[(c.watchlist, c.rule)] = max(c.score, rules.get((c.watchlist, c.rule), 0.0))
    ranked = sorted(((w, r, s) for (w, r), s in rules.items()), key=lambda x: (-x[2], x[0], x[1]))
    terms = dict.fromkeys(t for c in fresh for t in c.terms)
    also = [s for s in sources if s.name != best.source or s.url != best.url]
    # Every rule's hits in the best article's passage (each rule's match has its own).
    spans = [
        h
        for c in found
        if c.article_id == best.article_id and c.snippet == best.snippet
        for h in c.highlights
    ]
    marked = phrases(best.snippet, spans)
    # What it marks first, in the order read; then what the story's other matches found.
    passages = [(best.snippet, marked), *((c.snippet, c.highlights) for c in fresh)]
    return DigestEntry(
        key, best, tuple(ranked), tuple(terms), _by_outlet(also), update, marked, _matched(passages)
    )


def phrases(text: str, spans: Iterable[Span]) -> tuple[Span, ...]:
    """The matched words of ``text`` joined into phrases: "North Korea" is one span,
    not "North" and "Korea". Spans out of range are left out."""
    joined: list[Span] = []
    for start, end in sorted(s for s in spans if 0 <= s[0] < s[1] <= len(text)):
        if joined and (
            start <= joined[-1][1] or _JOINER.fullmatch(text, joined[-1][1], start) is not None
        ):
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return tuple(joined)


def _matched(passages: Iterable[tuple[str, Sequence[Span]]]) -> tuple[str, ...]:
    """What matched, in the articles' own words (never the watchlist's syntax)."""
    seen: dict[str, str] = {}
    for text, spans in passages:
        for start, end in phrases(text, spans):
            words = " ".join(text[start:end].split())
            seen.setdefault(words.casefold(), words)
    return tuple(seen.values())[:_MATCHED_MAX]


def _by_outlet(sources: Iterable[Source]) -> tuple[Source, ...]:
    """Every other report, each once, an outlet's together (in order of first sight):
    a second article of the same outlet is news too."""
    outlets: dict[str, dict[tuple[str, str | None], Source]] = {}
    for source in sources:
        outlets.setdefault(source.name, {}).setdefault((source.title, source.url), source)
    return tuple(s for reports in outlets.values() for s in reports.values())


def _grouped(entries: Sequence[DigestEntry]) -> tuple[Group, ...]:
    """Entries under their best watchlist; the group with the best entry first."""
    groups: dict[str, list[DigestEntry]] = {}
    for entry in entries:  # already best first
        groups.setdefault(entry.watchlist, []).append(entry)
    return tuple(Group(name, tuple(items)) for name, items in groups.items())
