"""Exact copies: what each sighting of an entry is, from what its keys point to.

Pure: no I/O. The store looks an entry's keys up and hands over what it found
(``Found``); ``decide`` says what the entry is (new, an update, unchanged, a copy
of an article, a tombstone, or the original of an article stored first) and
which keys the article gains. The store is given these rules as ``EXACT_COPIES``.

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

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from monitor.core.exact import EntryKeys, ExactRules, Found, Identity, Stored, Verdict
from monitor.dedup.keys import held_keys, keys_for

# An exact copy dated further before the article it copies than this has a wrong
# date (an archive or epoch stamp on a reprint), not an earlier original: the
# default window of the near-duplicate stage.
MAX_LEAD = timedelta(days=30)


def decide(keys: EntryKeys, found: Found, now: datetime) -> Verdict:
    """What this sighting is, and the keys its article gains."""
    verdict = classify(keys, found.known, found.stored, found.taken)
    if verdict.kind == "copy" and _is_original(keys, verdict.article_id, found, now):
        verdict = replace(verdict, kind="original")
    return replace(verdict, gains=_gains(keys, verdict))


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


def _is_original(keys: EntryKeys, article: str, found: Found, now: datetime) -> bool:
    holder = found.stored.get(article)
    # An article of this very poll is not written yet: it stays the original.
    fresh = article in found.created
    return holder is not None and not fresh and predates(keys, holder, now)


def _gains(keys: EntryKeys, verdict: Verdict) -> tuple[str, ...]:
    """The keys that lead to the article from now on: all of the entry's when it
    holds the article, only its key as a copy when it is a link to it."""
    if verdict.kind in ("new", "original"):
        gained: tuple[str | None, ...] = (verdict.identity.own, keys.url, keys.text)
    elif verdict.kind == "update":
        gained = (keys.url, keys.text)
    elif verdict.kind == "copy":
        gained = (verdict.identity.copy,)
    else:
        gained = ()
    return tuple(key for key in gained if key)


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


# What a store is given to save polls with (``Repository.open(url, exact=EXACT_COPIES)``).
EXACT_COPIES = ExactRules(keys=keys_for, verdict=decide, held_keys=held_keys)
