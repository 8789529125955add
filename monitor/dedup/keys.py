"""Exact duplicates: the keys an entry is known by, and what a sighting is.

Pure: no I/O. The repository looks the keys up and writes what ``classify`` says.

    g:  the entry's identity inside its feed (GUID, else link, else title and text
        with the digits masked, so that a churning counter is not a new entry)
    c:  the same identity, when the entry was a copy of another feed's article
    u:  the canonical URL, across all feeds
    t:  the normalised body text, across all feeds (long enough texts only)

A key whose article was deleted stays behind as a tombstone (it maps to None).
Some feeds give several items one GUID; a GUID hit whose URL *and* text both
differ from the stored article is such a collision, and the item is identified
by GUID plus URL instead, whatever order the items come in.

The original of an exact copy is the earliest published: a copy that arrives
after the article it copies but was published before it (a sane date: from the
feed, not in the future, not absurdly far ahead of the other) takes the
article's place, and the article it replaces becomes its link (``predates``).

Entries with neither GUID nor link are told apart the same way. Across polls,
a number that changed in the same place (a view counter, a "generated at" time)
is the entry edited. Within one fetch, entries that differ only in digits (dated
episodes, build numbers, "Item 1" and "Item 2") are different entries: an
article that another entry of the same fetch is, or has already claimed, is
never this one, which is then identified by its exact title and text. An exact
match wins over a masked one, so the older entries keep their articles when a
new number appears on top. (Of several such entries whose numbers all churn,
only the first is followed as an edit; the others come back as new entries.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from monitor.core.types import Entry
from monitor.text.plain import digest, fingerprint, normalise

MIN_TEXT_KEY_CHARS = 100
# An exact copy dated further before the article it copies than this has a wrong
# date (an archive or epoch stamp on a reprint), not an earlier original: the
# default window of the near-duplicate stage.
MAX_LEAD = timedelta(days=30)
_DIGITS = re.compile(r"[0-9]+")
Kind = Literal["new", "update", "unchanged", "copy", "tombstoned"]


def content_hashes(
    title: str, summary: str, content: str, canonical_url: str | None
) -> tuple[str | None, str]:
    """(text hash or None when too short to identify, hash of everything shown)."""
    text = normalise(content if len(content) >= len(summary) else summary)
    text_hash = digest("t", text) if len(text) >= MIN_TEXT_KEY_CHARS else None
    return text_hash, digest("e", normalise(title), text, canonical_url or "")


def with_hashes(entry: Entry) -> Entry:
    """The entry with its text and entry fingerprints filled in."""
    text_hash, entry_hash = content_hashes(
        entry.title, entry.summary, entry.content, entry.canonical_url
    )
    return replace(entry, text_hash=text_hash, entry_hash=entry_hash)


@dataclass(frozen=True, slots=True)
class Identity:
    article_id: str
    own: str
    copy: str


@dataclass(frozen=True, slots=True)
class EntryKeys:
    plain: Identity
    qualified: Identity
    url: str | None
    text: str | None
    entry_fp: str
    canonical_url: str | None
    # Neither GUID nor link: the entry is known by its title and text.
    unlinked: bool = False
    # Exact fingerprints of the other entries of this fetch that differ from this
    # one only in digits: none of their articles is this entry's.
    siblings: frozenset[str] = frozenset()
    published: datetime | None = None  # from the feed, or None

    def all(self) -> tuple[str, ...]:
        keys = (
            self.plain.own,
            self.plain.copy,
            self.qualified.own,
            self.qualified.copy,
            self.url,
            self.text,
        )
        return tuple(k for k in keys if k)


@dataclass(frozen=True, slots=True)
class Stored:
    """What the database holds of an article, to tell updates from collisions."""

    entry_fp: str
    text_fp: str | None
    canonical_url: str | None
    published: datetime | None = None  # from its feed, else when first seen


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Kind
    article_id: str
    identity: Identity
    reason: str | None = None


def _identity(feed_id: int, identity: str) -> Identity:
    scope = str(feed_id)
    return Identity(
        article_id=digest("a", scope, identity)[:16],
        own=fingerprint("g", scope, identity),
        copy=fingerprint("c", scope, identity),
    )


def _unlinked_identity(entry: Entry) -> str:
    """Who an entry with neither GUID nor link is: its title and text, digits masked.

    Its entry hash changed with every view counter or "generated at" time in the
    body, so such an entry was a new article, and a new alert, on every poll.
    """
    text = entry.content if len(entry.content) >= len(entry.summary) else entry.summary
    return digest("f", *(_DIGITS.sub("0", normalise(part)) for part in (entry.title, text)))


def keys_for(feed_id: int, entries: Iterable[Entry]) -> list[EntryKeys]:
    """The keys of one fetch's entries (siblings are looked for in this fetch only)."""
    entries = list(entries)
    identities = [entry.guid or entry.canonical_url or entry.url for entry in entries]
    masked = [
        None if identity else _unlinked_identity(entry)
        for entry, identity in zip(entries, identities, strict=True)
    ]
    exact: dict[str, set[str]] = {}
    for entry, mask in zip(entries, masked, strict=True):
        if mask:
            exact.setdefault(mask, set()).add(entry.entry_hash)
    result = []
    for entry, identity, mask in zip(entries, identities, masked, strict=True):
        # Unlinked, the exact text qualifies the masked identity (the text hash
        # would merge two episodes sharing a show description).
        qualifier = entry.canonical_url or (None if mask else entry.text_hash) or entry.entry_hash
        key = identity or mask or ""
        result.append(
            EntryKeys(
                plain=_identity(feed_id, key),
                qualified=_identity(feed_id, f"{key}\x1f{qualifier}"),
                url=fingerprint("u", entry.canonical_url) if entry.canonical_url else None,
                text=f"t:{entry.text_hash}" if entry.text_hash else None,
                entry_fp=entry.entry_hash,
                canonical_url=entry.canonical_url,
                unlinked=mask is not None,
                siblings=frozenset(exact[mask] - {entry.entry_hash}) if mask else frozenset(),
                published=entry.published,
            )
        )
    return result


def classify(
    keys: EntryKeys,
    known: Mapping[str, str | None],
    stored: Mapping[str, Stored],
    taken: Mapping[str, str] | None = None,
) -> Verdict:
    """What this sighting is, given the articles its keys point to (None: deleted).

    ``taken`` maps the articles that earlier entries of the same fetch turned out
    to be to those entries' fingerprints.
    """

    def others(article: str) -> bool:
        return _claimed_by_sibling(keys, article, stored, taken or {})

    if keys.unlinked:  # the exact text first: older entries keep their articles
        exact = _by_identity(keys, keys.qualified, known, stored)
        if exact is not None and not others(exact.article_id):
            return exact
    plain = _by_identity(keys, keys.plain, known, stored)
    if plain is not None and not _collides(keys, plain, stored) and not others(plain.article_id):
        return plain
    if not keys.unlinked:
        qualified = _by_identity(keys, keys.qualified, known, stored)
        if qualified is not None:
            return qualified
    identity = keys.qualified if plain is not None else keys.plain
    for reason, key in (("url", keys.url), ("text", keys.text)):
        if key and key in known:
            article = known[key]
            if article is None:
                return Verdict("tombstoned", identity.article_id, identity)
            if not others(article):
                return Verdict("copy", article, identity, reason)
    return Verdict("new", identity.article_id, identity)


def predates(keys: EntryKeys, holder: Stored, now: datetime) -> bool:
    """A copy of ``holder`` that is its original: published before it, on a sane date."""
    published, held = keys.published, holder.published
    if published is None or held is None:
        return False
    return held - MAX_LEAD <= published < held and published <= now


def own_keys(feed_id: int, entry: Entry) -> tuple[tuple[str, str], ...]:
    """The entry's own keys in its feed, each with the key it has as a copy."""
    keys = keys_for(feed_id, [entry])[0]
    return tuple((identity.own, identity.copy) for identity in (keys.plain, keys.qualified))


def _claimed_by_sibling(
    keys: EntryKeys, article: str, stored: Mapping[str, Stored], taken: Mapping[str, str]
) -> bool:
    """Another entry of this fetch, differing from this one only in digits, is that article."""
    if not keys.siblings:
        return False
    owner = taken.get(article)
    if owner is not None and owner != keys.entry_fp:
        return True
    previous = stored.get(article)
    return previous is not None and previous.entry_fp in keys.siblings


def _by_identity(
    keys: EntryKeys,
    identity: Identity,
    known: Mapping[str, str | None],
    stored: Mapping[str, Stored],
) -> Verdict | None:
    if identity.own in known:
        article = known[identity.own]
        if article is None:
            return Verdict("tombstoned", identity.article_id, identity)
        previous = stored.get(article)
        same = previous is not None and previous.entry_fp == keys.entry_fp
        return Verdict("unchanged" if same else "update", article, identity)
    if identity.copy in known:
        article = known[identity.copy]
        return Verdict(
            "unchanged" if article else "tombstoned", article or identity.article_id, identity
        )
    return None


def _collides(keys: EntryKeys, verdict: Verdict, stored: Mapping[str, Stored]) -> bool:
    """A GUID shared by two different items: neither their URLs nor texts agree."""
    if verdict.kind != "update":
        return False
    previous = stored.get(verdict.article_id)
    if previous is None:
        return False
    other_url = bool(
        previous.canonical_url
        and keys.canonical_url
        and previous.canonical_url != keys.canonical_url
    )
    # Texts too short to key say nothing: the differing URL decides.
    other_text = previous.text_fp != keys.text or keys.text is None
    return other_url and other_text
