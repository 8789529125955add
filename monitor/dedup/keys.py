"""Exact copies: the keys an entry is known by.

Pure: no I/O. The store looks the keys up; ``monitor.dedup.decide`` says what
each sighting is.

    g:  the entry's identity inside its feed (GUID, else link, else title and text
        with the digits masked, so that a churning counter is not a new entry)
    c:  the same identity, when the entry was a copy of another feed's article
    u:  the canonical URL, across all feeds
    t:  the normalised body text, across all feeds (long enough texts only)

A key whose article was deleted stays behind as a tombstone (it maps to None).
Besides its plain identity, each entry has one qualified by its URL (or, without
one, its text): a GUID that several items share is told apart by it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from monitor.core.exact import EntryKeys, Identity
from monitor.core.types import Entry
from monitor.text.plain import digest, fingerprint, normalise

MIN_TEXT_KEY_CHARS = 100
_DIGITS = re.compile(r"[0-9]+")


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


def own_keys(feed_id: int, entry: Entry) -> tuple[tuple[str, str], ...]:
    """The entry's own keys in its feed, each with the key it has as a copy."""
    keys = keys_for(feed_id, [entry])[0]
    return tuple((identity.own, identity.copy) for identity in (keys.plain, keys.qualified))


def held_keys(feed_id: int, held: Entry) -> dict[str, str]:
    """The own keys of an article's holder (as stored: no hashes yet), each with its
    key as a copy: what they become when another entry takes the article's place."""
    return dict(own_keys(feed_id, with_hashes(held)))
