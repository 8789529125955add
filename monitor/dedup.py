"""Exact duplicates: the keys an entry is known by, and what a sighting is.

Pure: no I/O. The repository looks the keys up and writes what ``classify`` says.

    g:  the entry's identity inside its feed (GUID, else link, else content)
    c:  the same identity, when the entry was a copy of another feed's article
    u:  the canonical URL, across all feeds
    t:  the normalised body text, across all feeds (long enough texts only)

A key whose article was deleted stays behind as a tombstone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from monitor.text import digest, fingerprint, normalise
from monitor.types import Entry

MIN_TEXT_KEY_CHARS = 100
Kind = Literal["new", "update", "unchanged", "copy", "tombstoned"]


@dataclass(frozen=True, slots=True)
class EntryKeys:
    article_id: str
    own: str
    copy: str
    url: str | None
    text: str | None
    entry_fp: str

    def all(self) -> tuple[str, ...]:
        return tuple(k for k in (self.own, self.copy, self.url, self.text) if k)


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Kind
    article_id: str
    reason: str | None = None


def body_text(entry: Entry) -> str:
    return entry.content if len(entry.content) >= len(entry.summary) else entry.summary


def keys_for(feed_id: int, entries: Iterable[Entry]) -> list[EntryKeys]:
    """Keys for a batch; a GUID repeated inside the batch is told apart by URL or text."""
    seen: set[str] = set()
    result = []
    for entry in entries:
        text = normalise(body_text(entry))
        identity = entry.guid or entry.canonical_url or entry.url or digest(entry.title, text)
        if identity in seen:
            identity = f"{identity}\x1f{entry.canonical_url or digest(entry.title, text)}"
        seen.add(identity)
        scope = str(feed_id)
        result.append(
            EntryKeys(
                article_id=digest("a", scope, identity)[:16],
                own=fingerprint("g", scope, identity),
                copy=fingerprint("c", scope, identity),
                url=fingerprint("u", entry.canonical_url) if entry.canonical_url else None,
                text=fingerprint("t", text) if len(text) >= MIN_TEXT_KEY_CHARS else None,
                entry_fp=digest("e", normalise(entry.title), text, entry.canonical_url or ""),
            )
        )
    return result


def classify(
    keys: EntryKeys, known: Mapping[str, str | None], entry_fps: Mapping[str, str]
) -> Verdict:
    """What this sighting is, given the articles its keys point to (None: deleted)."""
    if keys.own in known:
        article = known[keys.own]
        if article is None:
            return Verdict("tombstoned", keys.article_id)
        same = entry_fps.get(article) == keys.entry_fp
        return Verdict("unchanged" if same else "update", article)
    if keys.copy in known:
        article = known[keys.copy]
        return Verdict("unchanged" if article else "tombstoned", article or keys.article_id)
    for reason, key in (("url", keys.url), ("text", keys.text)):
        if key and key in known:
            article = known[key]
            if article is None:
                return Verdict("tombstoned", keys.article_id)
            return Verdict("copy", article, reason)
    return Verdict("new", keys.article_id)
