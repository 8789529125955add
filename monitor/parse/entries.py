"""One raw entry (from feedparser or JSON Feed) to one normalised Entry."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

from monitor.core.types import Entry
from monitor.dedup.keys import with_hashes
from monitor.dedup.urls import canonical_url
from monitor.text.plain import clean, html_to_text

OLDEST = datetime(1995, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
# A BCP 47 tag ("en", "pt-BR", "zh-Hant-TW"): anything else says nothing usable.
_LANGUAGE_TAG = re.compile(r"[a-z]{1,8}(?:-[a-z0-9]{1,8})*")
# "desk@wire.example (Wire desk)", "Jane Roe (mailto:jane@x.example)", "Jane <jane@x>":
# RSS writes authors as e-mail addresses with the name beside them; we keep the name.
_EMAIL = r"(?:mailto:)?[^\s@()<>]+@[^\s@()<>]+"
_EMAIL_THEN_NAME = re.compile(rf"{_EMAIL}\s*\(\s*([^()]+?)\s*\)")
_NAME_THEN_EMAIL = re.compile(rf"([^()<>]+?)\s*[(<]\s*{_EMAIL}\s*[)>]")


@dataclass(frozen=True)
class Limits:
    max_entries: int = 500
    title: int = 1_000
    summary: int = 20_000
    content: int = 200_000
    url: int = 8_192
    guid: int = 2_048
    authors: int = 20
    author: int = 200


@dataclass(frozen=True)
class RawEntry:
    """The fields we read, whatever the feed format."""

    guid: str | None
    link: str | None
    title: str | None
    summary_html: str | None
    content_html: str | None
    authors: tuple[str, ...]
    language: str | None
    published: datetime | None


def normalise_entry(raw: RawEntry, now: datetime, limits: Limits) -> Entry:
    url = clean(raw.link, limits.url) or None
    canonical = canonical_url(url) if url else None
    title = html_to_text(raw.title, limits.title)
    summary = html_to_text(raw.summary_html, limits.summary)
    content = html_to_text(raw.content_html, limits.content)
    return with_hashes(
        Entry(
            guid=clean(raw.guid, limits.guid) or None,
            url=url,
            canonical_url=canonical,
            title=title,
            summary=summary,
            content=content,
            authors=_authors(raw.authors, limits),
            language=language_tag(raw.language),
            published=sane_date(raw.published, now),
        )
    )


def language_tag(value: str | None) -> str | None:
    """The language tag, lower-cased, or None when it is not one.

    Checked rather than cut: "İ" lower-cases to two characters, so a cut before
    lower-casing let a 35-character value grow past its cap (found by fuzzing).
    """
    tag = clean(value, 35).strip().lower().replace("_", "-")
    return tag if _LANGUAGE_TAG.fullmatch(tag) else None


def sane_date(value: datetime | None, now: datetime) -> datetime | None:
    """The date in UTC, or None when it is missing, absurd or in the future."""
    if value is None:
        return None
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # year 1 at +01:00, year 9999 at -05:00: outside what UTC can hold
        return None
    if value < OLDEST or value > now + FUTURE_SLACK:
        return None
    return value


def _authors(names: tuple[str, ...], limits: Limits) -> tuple[str, ...]:
    cleaned = (person_name(html_to_text(n, limits.author)) for n in names[: limits.authors])
    return tuple(dict.fromkeys(name for name in cleaned if name))


def person_name(written: str) -> str:
    """The name in "email (Name)" or "Name (email)"; anything else as written.

    ``written`` is short (capped before): the patterns are anchored and linear there.
    """
    found = _EMAIL_THEN_NAME.fullmatch(written) or _NAME_THEN_EMAIL.fullmatch(written)
    return found[1].strip() if found else written


def http_link(candidates: Iterable[object], base_url: str) -> str | None:
    """The first candidate that is an http(s) URL once made absolute.

    An ``at://`` or ``mailto:`` link is no article to open, and an entry often
    offers a better one next (an alternate link, the URL beside an external one).
    """
    for candidate in candidates:
        url = absolute(candidate, base_url)
        if url and url.lower().startswith(("http://", "https://")):
            return url
    return None


def absolute(link: object, base_url: str) -> str | None:
    """A relative link made absolute against an http(s) feed URL."""
    if not isinstance(link, str) or not link.strip():
        return None
    if base_url.startswith(("http://", "https://")):
        try:
            return urljoin(base_url, link.strip())
        except ValueError:  # "http://[::1" and other links no URL parser accepts
            return None
    return link.strip()


def plain_to_html(value: str | None, *, declared: bool = True) -> str | None:
    """Plain text made safe to read as HTML: its brackets are text, not tags.

    Text only ``declared`` plain (Atom's type="text") keeps its ampersands too; a
    title whose type nobody declared (RSS, JSON Feed in the wild) is often escaped
    twice ("AT&amp;T", "It&#8217;s"), so its leftover entities are decoded.
    """
    if value is None:
        return None
    if declared:
        value = value.replace("&", "&amp;")
    return value.replace("<", "&lt;").replace(">", "&gt;")
