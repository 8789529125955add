"""Exact dedup: the keys an entry is known by, and what each sighting is (pure: no store)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.exact import EntryKeys, Found, Stored, Verdict
from monitor.core.types import Entry
from monitor.dedup.decide import MAX_LEAD, classify, decide
from monitor.dedup.keys import held_keys, keys_for, with_hashes
from monitor.dedup.urls import canonical_url

NOW = datetime(2024, 11, 8, 12, 0, tzinfo=UTC)
LONG = (
    "The central bank raised its main interest rate by a quarter point on Thursday, "
    "citing persistent inflation in services and a tight labour market."
)


def entry(
    guid: str | None = None,
    url: str | None = None,
    title: str = "Rates rise",
    content: str = "",
    summary: str = "",
) -> Entry:
    """An entry as the parse worker hands it over: fingerprints filled in."""
    return with_hashes(
        Entry(
            guid=guid,
            url=url,
            canonical_url=canonical_url(url) if url else None,
            title=title,
            summary=summary,
            content=content,
            authors=(),
            language=None,
            published=None,
        )
    )


def keys(e: Entry, feed_id: int = 1) -> EntryKeys:
    return keys_for(feed_id, [e])[0]


def stored(k: EntryKeys, entry_fp: str | None = None) -> Stored:
    return Stored(entry_fp or k.entry_fp, k.text, k.canonical_url)


class FeedPolls:
    """One feed's polls against an in-memory store, remembering as the store does."""

    def __init__(self, feed_id: int = 1) -> None:
        self.feed_id = feed_id
        self.known: dict[str, str | None] = {}
        self.stored: dict[str, Stored] = {}

    def poll(self, entries: Sequence[Entry]) -> list[Verdict]:
        verdicts: list[Verdict] = []
        taken: dict[str, str] = {}
        created: set[str] = set()
        found = Found(self.known, self.stored, taken, created)
        for k in keys_for(self.feed_id, entries):
            verdict = decide(k, found, NOW)
            for fp in verdict.gains:
                self.known.setdefault(fp, verdict.article_id)
            if verdict.kind in ("new", "update"):
                self.stored[verdict.article_id] = k.as_stored()
            if verdict.kind == "new":
                created.add(verdict.article_id)
            taken.setdefault(verdict.article_id, k.entry_fp)
            verdicts.append(verdict)
        return verdicts


def kinds(verdicts: list[Verdict]) -> list[str]:
    return [v.kind for v in verdicts]


# --- keys_for ----------------------------------------------------------------


def test_same_guid_same_own_key_even_when_edited() -> None:
    before = keys(entry("g-1", "https://example.com/a", title="Draft"))
    after = keys(entry("g-1", "https://example.com/b", title="Final", content=LONG))
    assert before.plain == after.plain
    assert before.entry_fp != after.entry_fp


def test_same_guid_in_two_feeds_is_two_identities() -> None:
    one, two = keys(entry("g-1"), feed_id=1), keys(entry("g-1"), feed_id=2)
    assert one.plain.own != two.plain.own
    assert one.plain.article_id != two.plain.article_id


def test_repeated_guid_with_different_links_has_distinct_qualified_keys() -> None:
    first, second = (entry("same", f"https://example.com/{n}") for n in "12")
    batch = keys_for(1, [first, second])
    assert batch[0].plain == batch[1].plain
    assert batch[0].qualified.own != batch[1].qualified.own
    assert batch[0].qualified.article_id != batch[1].qualified.article_id


def test_keys_do_not_depend_on_position_in_the_batch() -> None:
    a, b = (entry("same", f"https://example.com/{n}", content=f"{n} {LONG}") for n in "ab")
    assert keys_for(1, [a, b]) == keys_for(1, [b, a])[::-1]


def test_without_guid_link_is_the_identity() -> None:
    first = keys(entry(None, "https://example.com/a?utm_source=rss", title="Old"))
    second = keys(entry(None, "https://EXAMPLE.com/a#top", title="New", content=LONG))
    assert first.plain == second.plain


def test_without_guid_different_links_differ() -> None:
    assert (
        keys(entry(None, "https://example.com/a")).plain.own
        != keys(entry(None, "https://example.com/b")).plain.own
    )


def test_without_guid_or_link_content_is_the_identity() -> None:
    assert keys(entry(content=LONG)).plain.own == keys(entry(content=LONG)).plain.own
    assert keys(entry(content=LONG)).plain.own != keys(entry(content=LONG + " Updated.")).plain.own
    assert keys(entry(title="A")).plain.own != keys(entry(title="B")).plain.own


def test_url_key_equal_across_feeds_for_equal_canonical_urls() -> None:
    one = keys(entry("x", "https://Example.com/story?utm_source=rss"), feed_id=1)
    two = keys(entry("y", "https://example.com/story#comments"), feed_id=2)
    assert one.url is not None
    assert one.url == two.url
    assert one.plain.own != two.plain.own


def test_no_url_key_without_canonical_url() -> None:
    assert keys(entry("g", None)).url is None
    assert keys(entry("g", "ftp://example.com/x")).url is None


def test_short_text_has_no_text_key() -> None:
    assert keys(entry("g", content="Breaking: more soon.")).text is None


def test_text_key_ignores_case_punctuation_and_spacing() -> None:
    noisy = "  " + LONG.upper().replace(" ", "\n  ").replace(",", " ;") + "!!!"
    one = keys(entry("a", content=LONG), feed_id=1)
    two = keys(entry("b", summary=noisy), feed_id=2)
    assert one.text is not None
    assert one.text == two.text


def test_text_key_differs_for_different_text() -> None:
    other = LONG.replace("quarter", "half")
    assert keys(entry("a", content=LONG)).text != keys(entry("a", content=other)).text


def test_text_key_uses_the_longer_of_summary_and_content() -> None:
    assert (
        keys(entry("a", summary=LONG, content="Short.")).text == keys(entry("b", content=LONG)).text
    )


# --- a GUID shared by several items, over several polls ------------------------


def _stories(*names: str, body: str = "{} " + LONG) -> dict[str, Entry]:
    return {
        n: entry("same", f"https://example.com/{n}", title=f"Story {n}", content=body.format(n))
        for n in names
    }


def test_new_item_sharing_a_repeated_guid_is_new() -> None:
    s = _stories("a", "b", "c")
    feed = FeedPolls()
    first = feed.poll([s["a"], s["b"]])  # the first poll already shows the GUID repeated
    assert kinds(first) == ["new", "new"]
    assert first[0].article_id != first[1].article_id
    second = feed.poll([s["c"], s["a"], s["b"]])  # a newly published item on top
    assert kinds(second) == ["new", "unchanged", "unchanged"]
    assert [v.article_id for v in second[1:]] == [v.article_id for v in first]


@pytest.mark.parametrize("order", ["abc", "acb", "bac", "bca", "cab", "cba"])
def test_shared_guid_items_are_told_apart_whatever_the_order(order: str) -> None:
    s = _stories("a", "b", "c")
    feed = FeedPolls()
    first = {n: v.article_id for n, v in zip(order, feed.poll([s[n] for n in order]), strict=True)}
    assert len(set(first.values())) == 3
    again = feed.poll([s[n] for n in reversed(order)])
    assert kinds(again) == ["unchanged"] * 3
    assert [v.article_id for v in again] == [first[n] for n in reversed(order)]


def test_shared_guid_items_with_short_texts_are_told_apart() -> None:
    s = _stories("a", "b", body="{}")
    feed = FeedPolls()
    first = feed.poll([s["a"], s["b"]])
    assert kinds(first) == ["new", "new"]
    assert kinds(feed.poll([s["a"], s["b"]])) == ["unchanged", "unchanged"]


def test_edited_item_with_a_unique_guid_is_an_update_not_a_collision() -> None:
    feed = FeedPolls()
    (first,) = feed.poll([entry("g-1", "https://example.com/a", content=LONG)])
    (moved,) = feed.poll([entry("g-1", "https://example.com/b", content=LONG)])
    (edited,) = feed.poll([entry("g-1", "https://example.com/b", content=LONG + " More.")])
    assert (moved.kind, moved.article_id) == ("update", first.article_id)
    assert (edited.kind, edited.article_id) == ("update", first.article_id)


# --- entries with neither GUID nor link ------------------------------------------


def test_episodes_sharing_a_show_description_are_distinct_entries() -> None:
    episodes = [entry(title=f"Episode {n}", content=LONG) for n in (3, 2, 1)]
    feed = FeedPolls()
    first = feed.poll(episodes)
    assert kinds(first) == ["new"] * 3
    assert len({v.article_id for v in first}) == 3
    later = feed.poll([entry(title="Episode 4", content=LONG), *episodes])
    assert kinds(later) == ["new", "unchanged", "unchanged", "unchanged"]
    assert [v.article_id for v in later[1:]] == [v.article_id for v in first]


@pytest.mark.parametrize("order", ["12", "21"])
def test_siblings_do_not_depend_on_the_order_of_the_fetch(order: str) -> None:
    items = {n: entry(title=f"Item {n}") for n in ("1", "2")}
    batch = keys_for(1, [items[n] for n in order])
    assert all(k.unlinked and len(k.siblings) == 1 for k in batch)
    assert batch[0].siblings == {batch[1].entry_fp}


def test_a_churning_counter_without_guid_or_link_stays_one_article() -> None:
    feed = FeedPolls()
    (first,) = feed.poll([entry(title="Status", content=f"{LONG} Viewed 10 times.")])
    (second,) = feed.poll([entry(title="Status", content=f"{LONG} Viewed 11 times.")])
    assert (second.kind, second.article_id) == ("update", first.article_id)


# --- classify ----------------------------------------------------------------

K = keys(entry("g-1", "https://example.com/a", content=LONG))


def test_unknown_keys_are_new() -> None:
    verdict = classify(K, {}, {})
    assert (verdict.kind, verdict.article_id) == ("new", K.plain.article_id)


def test_known_own_key_with_same_fingerprint_is_unchanged() -> None:
    verdict = classify(K, {K.plain.own: "art-1"}, {"art-1": stored(K)})
    assert (verdict.kind, verdict.article_id) == ("unchanged", "art-1")


def test_known_own_key_with_other_fingerprint_is_update() -> None:
    verdict = classify(K, {K.plain.own: "art-1"}, {"art-1": stored(K, entry_fp="old-fp")})
    assert (verdict.kind, verdict.article_id) == ("update", "art-1")


def test_known_url_is_copy() -> None:
    assert K.url is not None
    verdict = classify(K, {K.url: "art-9"}, {})
    assert (verdict.kind, verdict.article_id, verdict.reason) == ("copy", "art-9", "url")


def test_known_text_is_copy() -> None:
    assert K.text is not None
    verdict = classify(K, {K.text: "art-9"}, {})
    assert (verdict.kind, verdict.article_id, verdict.reason) == ("copy", "art-9", "text")


def test_url_match_wins_over_text_match() -> None:
    assert K.url is not None and K.text is not None
    verdict = classify(K, {K.url: "by-url", K.text: "by-text"}, {})
    assert (verdict.article_id, verdict.reason) == ("by-url", "url")


def test_own_key_wins_over_copy_keys() -> None:
    assert K.url is not None
    verdict = classify(K, {K.plain.own: "mine", K.url: "theirs"}, {"mine": stored(K)})
    assert (verdict.kind, verdict.article_id) == ("unchanged", "mine")


def test_known_copy_key_is_unchanged() -> None:
    verdict = classify(K, {K.plain.copy: "art-9"}, {})
    assert (verdict.kind, verdict.article_id) == ("unchanged", "art-9")


KEY_OF: dict[str, Callable[[EntryKeys], str | None]] = {
    "own": lambda k: k.plain.own,
    "copy": lambda k: k.plain.copy,
    "qualified own": lambda k: k.qualified.own,
    "qualified copy": lambda k: k.qualified.copy,
    "url": lambda k: k.url,
    "text": lambda k: k.text,
}


@pytest.mark.parametrize("which", list(KEY_OF))
def test_deleted_article_leaves_a_tombstone(which: str) -> None:
    key = KEY_OF[which](K)
    assert key is not None
    assert classify(K, {key: None}, {}).kind == "tombstoned"


# --- decide: what the store writes ------------------------------------------------


def found(known: dict[str, str | None], stored: dict[str, Stored], *created: str) -> Found:
    return Found(known, stored, {}, set(created))


def test_the_keys_an_article_gains_depend_on_what_the_entry_is() -> None:
    assert K.url is not None and K.text is not None
    new = decide(K, found({}, {}), NOW)
    assert (new.kind, new.gains) == ("new", (K.plain.own, K.url, K.text))
    update = decide(K, found({K.plain.own: "a"}, {"a": stored(K, entry_fp="old")}), NOW)
    assert (update.kind, update.gains) == ("update", (K.url, K.text))
    copy = decide(K, found({K.url: "a"}, {}), NOW)
    assert (copy.kind, copy.gains) == ("copy", (K.plain.copy,))
    unchanged = decide(K, found({K.plain.own: "a"}, {"a": stored(K)}), NOW)
    assert (unchanged.kind, unchanged.gains) == ("unchanged", ())


def dated_keys(published: datetime | None) -> EntryKeys:
    e = entry("w-1", "https://wire.example/story", content=LONG)
    return keys(replace(e, published=published))


HELD_SINCE = NOW - timedelta(hours=1)


@pytest.mark.parametrize(
    ("published", "kind"),
    [
        (HELD_SINCE - timedelta(hours=2), "original"),
        (HELD_SINCE, "copy"),  # not before it
        (None, "copy"),
        (HELD_SINCE - MAX_LEAD - timedelta(days=1), "copy"),  # absurdly early
    ],
)
def test_a_copy_published_before_the_article_it_copies_is_its_original(
    published: datetime | None, kind: str
) -> None:
    k = dated_keys(published)
    holder = Stored("other-fp", None, k.canonical_url, HELD_SINCE)
    verdict = decide(k, found({k.url: "a"} if k.url else {}, {"a": holder}), NOW)
    assert (verdict.kind, verdict.article_id) == (kind, "a")
    if kind == "original":
        assert verdict.gains == (k.plain.own, k.url, k.text)


def test_an_article_of_the_same_poll_stays_the_original() -> None:
    k = dated_keys(HELD_SINCE - timedelta(hours=2))
    holder = Stored("other-fp", None, k.canonical_url, HELD_SINCE)
    verdict = decide(k, found({k.url: "a"} if k.url else {}, {"a": holder}, "a"), NOW)
    assert verdict.kind == "copy"


def test_held_keys_are_the_holders_own_keys_with_their_keys_as_a_copy() -> None:
    e = entry("g-1", "https://example.com/a", content=LONG)
    bare = replace(e, text_hash=None, entry_hash="")  # as read back from the store
    k = keys(e, feed_id=7)
    assert held_keys(7, bare) == {k.plain.own: k.plain.copy, k.qualified.own: k.qualified.copy}
