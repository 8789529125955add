"""RSS 0.9x/1.0/2.0 and Atom through feedparser; JSON Feed in ``jsonfeed``.

feedparser only ever gets bytes: given a string it would open local paths and URLs.
"""

from __future__ import annotations

import calendar
import re
import warnings
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from xml.sax import SAXParseException

import feedparser

from monitor.core.errors import ParseError
from monitor.core.redact import redact_url
from monitor.core.types import ParsedFeed
from monitor.parse.entries import (
    Limits,
    RawEntry,
    http_link,
    language_tag,
    normalise_entry,
    plain_to_html,
)
from monitor.parse.jsonfeed import read_json_feed
from monitor.parse.linktext import LinkTexts
from monitor.text.plain import clean

# We read published_parsed and fall back to updated_parsed ourselves; feedparser's
# own fallback warns on every entry without a published date.
warnings.filterwarnings(
    "ignore", message="To avoid breaking existing software", category=DeprecationWarning
)
# A feed with no entries yet is still a feed when its root says so (RSS 0.90, RSS 1.0, Atom).
_FEED_NAMESPACES = {
    "http://channel.netscape.com/rdf/simple/0.9/",
    "http://purl.org/rss/1.0/",
    "http://www.w3.org/2005/Atom",
    "http://purl.org/atom/ns#",
}
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]{0,39})")


def parse_feed(
    body: bytes, content_type: str | None, base_url: str, now: datetime, limits: Limits
) -> ParsedFeed:
    """Raises ParseError naming the feed and what was found when it is none."""
    try:
        if _is_json(body, content_type):
            meta, raws = read_json_feed(body, base_url)
        else:
            meta, raws = read_xml_feed(body, content_type, base_url)
    except ParseError as exc:
        raise ParseError(f"not a feed: {redact_url(base_url)}: found {exc}") from exc
    kept = raws[: limits.max_entries]
    return ParsedFeed(
        title=clean(meta.get("title"), 1000) or None,
        link=clean(meta.get("link"), limits.url) or None,
        language=language_tag(meta.get("language")),
        ttl_s=_ttl_seconds(meta.get("ttl")),
        entries=tuple(normalise_entry(raw, now, limits) for raw in kept),
        dropped_entries=len(raws) - len(kept),
    )


def _is_json(body: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start[:1] in (b"{", b"[") or start.rstrip() == b"null"


def read_xml_feed(
    body: bytes, content_type: str | None, base_url: str
) -> tuple[dict[str, Any], list[RawEntry]]:
    # No content-location: feedparser would rewrite relative GUIDs against it,
    # and a feed that moves would see every GUID change. No sanitising: we keep
    # plain text only (HTML meant for people is sanitised with nh3 where it is shown).
    headers = {"content-type": content_type} if content_type else {}
    body = _valid_charrefs(body)
    try:
        parsed = feedparser.parse(
            body,
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except (ValueError, OverflowError) as exc:  # feedparser's own bugs: one feed, not the cycle
        raise ParseError(f"a document the parser failed on ({exc})") from exc
    namespaces = set((parsed.get("namespaces") or {}).values())
    if not parsed.get("version") and not parsed.entries and not namespaces & _FEED_NAMESPACES:
        raise ParseError(_what_was_found(body, parsed.get("bozo_exception")))
    atom = str(parsed.get("version") or "").startswith("atom")
    feed_authors = _authors(parsed.feed, atom)
    language = parsed.feed.get("language")
    meta = {
        "title": parsed.feed.get("title"),
        "link": parsed.feed.get("link"),
        "language": language,
        "ttl": parsed.feed.get("ttl"),
    }
    link_texts = LinkTexts(body)
    return meta, [
        _from_feedparser(entry, atom, feed_authors, language, base_url, link_texts)
        for entry in parsed.entries
    ]


def _what_was_found(body: bytes, error: object) -> str:
    """Where the document stops being XML, or what its root element is."""
    if not body.strip():
        return "an empty document"
    root = _ROOT.search(body[:4096])
    name = root[1].decode("ascii", "replace") if root else None
    if name and name.lower() == "html":
        return "an HTML page, not RSS, Atom or JSON Feed"
    if isinstance(error, SAXParseException):
        where = f"line {error.getLineNumber()}, column {error.getColumnNumber()}"
        return f"XML that is not well-formed ({where}: {error.getMessage()})"
    if name:
        return f"<{name}>, not RSS, Atom or JSON Feed"
    return "no RSS, Atom or JSON Feed"


_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,16})|([0-9]{1,20}));")


def _valid_charrefs(body: bytes) -> bytes:
    """Character references to no character (a surrogate, past U+10FFFF) as U+FFFD.

    feedparser's fallback parser turns them into chr() and crashes on these
    (OverflowError, ValueError, UnicodeEncodeError; found by fuzzing).
    """
    if b"&#" not in body:
        return body
    return _CHARREF.sub(_charref, body)


def _charref(found: re.Match[bytes]) -> bytes:
    code = int(found[1], 16) if found[1] else int(found[2])
    valid = code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF
    return found[0] if valid else b"&#xFFFD;"


def _from_feedparser(
    entry: Any,
    atom: bool,
    feed_authors: tuple[str, ...],
    feed_language: str | None,
    base: str,
    link_texts: LinkTexts,
) -> RawEntry:
    contents = entry.get("content") or []
    content = max(contents, key=lambda c: len(c.get("value") or ""), default=None)
    summary = entry.get("summary_detail") or {}
    detail = content or summary
    # dict.get: feedparser's own get() answers published_parsed with updated_parsed.
    stamp = next(
        (
            dict.get(entry, k)
            for k in ("published_parsed", "created_parsed", "updated_parsed")
            if dict.get(entry, k)
        ),
        None,
    )
    return RawEntry(
        guid=entry.get("id"),
        link=http_link(_link_candidates(entry, link_texts), base),
        title=_title(entry, atom),
        summary_html=_as_html(summary),
        content_html=_as_html(content) if content else None,
        authors=_authors(entry, atom) or feed_authors,
        language=detail.get("language") or feed_language,
        published=_from_struct(stamp),
    )


def _title(entry: Any, atom: bool) -> str | None:
    """The title as HTML: escaped when plain text (declared so only in Atom)."""
    title, detail = entry.get("title"), entry.get("title_detail") or {}
    # feedparser's detail can be another element's (an <image><title> after the entry's).
    if isinstance(title, str) and detail.get("value") == title:
        return _as_html(detail, declared=atom)
    return title if isinstance(title, str) else None


def _link_candidates(entry: Any, link_texts: LinkTexts) -> Iterable[Any]:
    """FeedBurner's original link, the link, then the other alternate links, each
    followed by its element's own text.

    Lazy: http_link stops at the first http(s) one, so the document is read again for
    link texts only when an entry has none before them.
    """
    yield entry.get("feedburner_origlink")
    link = entry.get("link")
    # A GUID such as "4411" is no link, whatever RSS's default says; only a full URL is.
    if not entry.get("guidislink") or str(link).lower().startswith(("http://", "https://")):
        yield link
        # <link uri="at://…">https://…</link>: feedparser keeps the attribute only.
        yield link_texts.text_beside(link)
    for other in entry.get("links") or []:
        if isinstance(other, dict) and other.get("rel", "alternate") == "alternate":
            yield other.get("href")
            yield link_texts.text_beside(other.get("href"))


def _authors(owner: Any, atom: bool) -> tuple[str, ...]:
    """The names of an entry's (or a feed's) authors, an address when there is no name."""
    people = [a for a in owner.get("authors") or [] if isinstance(a, dict)]
    written = owner.get("author")
    if not atom and len(people) <= 1 and isinstance(written, str) and written.strip():
        # RSS: feedparser's own split of "desk@wire.example (Wire desk)" cuts the
        # address short and keeps the rest as the name; we split it ourselves.
        return (written,)
    names = (p.get("name") or p.get("email") for p in people)
    return tuple(name for name in names if isinstance(name, str) and name.strip())


def _from_struct(stamp: Any) -> datetime | None:
    """feedparser's UTC time tuple as a datetime; None when it names no real instant."""
    if not stamp:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(stamp), UTC)
    except (ValueError, OverflowError, OSError):  # "0001-00-00": year 0 (found by fuzzing)
        return None


def _as_html(detail: Any, declared: bool = True) -> str | None:
    """feedparser's value as HTML: plain-text constructs are escaped first."""
    value = detail.get("value") if detail else None
    if value is None:
        return None
    if detail.get("type") == "text/plain":
        return plain_to_html(value, declared=declared)
    return str(value)


def _ttl_seconds(value: Any) -> float | None:
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        return None
    return minutes * 60 if 0 < minutes < 100_000 else None
