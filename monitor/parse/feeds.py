"""RSS 0.9x/1.0/2.0 and Atom through feedparser; JSON Feed 1.x read here.

feedparser only ever gets bytes: given a string it would open local paths and URLs.
"""

from __future__ import annotations

import calendar
import json
import re
import warnings
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.errors import ParseError
from monitor.parse.entries import Limits, RawEntry, language_tag, normalise_entry
from monitor.text import clean
from monitor.types import ParsedFeed

# We read published_parsed and fall back to updated_parsed ourselves; feedparser's
# own fallback warns on every entry without a published date.
warnings.filterwarnings(
    "ignore", message="To avoid breaking existing software", category=DeprecationWarning
)


def parse_feed(
    body: bytes, content_type: str | None, base_url: str, now: datetime, limits: Limits
) -> ParsedFeed:
    if _is_json(body, content_type):
        meta, raws = read_json_feed(body, base_url)
    else:
        meta, raws = read_xml_feed(body, content_type, base_url)
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
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def read_xml_feed(
    body: bytes, content_type: str | None, base_url: str
) -> tuple[dict[str, Any], list[RawEntry]]:
    # No content-location: feedparser would rewrite relative GUIDs against it,
    # and a feed that moves would see every GUID change. No sanitising: we keep
    # plain text only (HTML meant for people is sanitised with nh3 where it is shown).
    headers = {"content-type": content_type} if content_type else {}
    try:
        parsed = feedparser.parse(
            _valid_charrefs(body),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except (ValueError, OverflowError) as exc:  # feedparser's own bugs: one feed, not the cycle
        raise ParseError(f"not a feed: the parser failed: {exc}") from exc
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS, Atom or JSON Feed found"
        raise ParseError(f"not a feed: {reason}")
    language = parsed.feed.get("language")
    meta = {
        "title": parsed.feed.get("title"),
        "link": parsed.feed.get("link"),
        "language": language,
        "ttl": parsed.feed.get("ttl"),
    }
    return meta, [_from_feedparser(entry, language, base_url) for entry in parsed.entries]


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


def _from_feedparser(entry: Any, feed_language: str | None, base_url: str) -> RawEntry:
    contents = entry.get("content") or []
    content = max(contents, key=lambda c: len(c.get("value") or ""), default=None)
    summary = entry.get("summary_detail") or {}
    detail = content or summary
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    link = entry.get("link")
    if entry.get("guidislink") and not str(link).startswith(("http://", "https://")):
        link = None  # a GUID such as "4411" is no link, whatever RSS's default says
    return RawEntry(
        guid=entry.get("id"),
        link=absolute(link, base_url),
        title=entry.get("title"),
        summary_html=_as_html(summary),
        content_html=_as_html(content) if content else None,
        authors=tuple(_names(entry.get("authors") or [])) or _single(entry.get("author")),
        language=detail.get("language") or feed_language,
        published=_from_struct(stamp),
    )


def _from_struct(stamp: Any) -> datetime | None:
    """feedparser's UTC time tuple as a datetime; None when it names no real instant."""
    if not stamp:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(stamp), UTC)
    except (ValueError, OverflowError, OSError):  # "0001-00-00": year 0 (found by fuzzing)
        return None


def _as_html(detail: Any) -> str | None:
    """feedparser's value as HTML: plain-text constructs are escaped first."""
    value = detail.get("value") if detail else None
    if value is None:
        return None
    return _escape(value) if detail.get("type") == "text/plain" else str(value)


def _names(authors: Iterable[Any]) -> Iterable[str]:
    for author in authors:
        name = author.get("name") if isinstance(author, dict) else None
        if isinstance(name, str):
            yield name


def _single(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) and value else ()


def read_json_feed(body: bytes, base_url: str) -> tuple[dict[str, Any], list[RawEntry]]:
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    # ValueError: JSONDecodeError, and a number of more than 4,300 digits.
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ParseError(f"not a feed: invalid JSON: {exc}") from exc
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/1"):
        raise ParseError("not a feed: JSON without a JSON Feed 1.x version")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError("not a feed: JSON Feed without an items list")
    language = _text(doc.get("language"))
    meta = {
        "title": _text(doc.get("title")),
        "link": _text(doc.get("home_page_url")),
        "language": language,
    }
    return meta, [
        _from_json_item(item, language, base_url) for item in items if isinstance(item, dict)
    ]


def _from_json_item(item: dict[str, Any], feed_language: str | None, base_url: str) -> RawEntry:
    authors = item.get("authors") if isinstance(item.get("authors"), list) else [item.get("author")]
    guid = item.get("id")
    return RawEntry(
        guid=str(guid) if isinstance(guid, str | int) else None,
        link=absolute(_text(item.get("url")) or _text(item.get("external_url")), base_url),
        title=_text(item.get("title")),
        summary_html=_text(item.get("summary")),
        content_html=_text(item.get("content_html")) or _escape(_text(item.get("content_text"))),
        authors=tuple(_names(a for a in authors or [] if isinstance(a, dict))),
        language=_text(item.get("language")) or feed_language,
        published=_rfc3339(item.get("date_published")) or _rfc3339(item.get("date_modified")),
    )


def absolute(link: Any, base_url: str) -> str | None:
    """A relative link made absolute against an http(s) feed URL."""
    if not isinstance(link, str) or not link.strip():
        return None
    if base_url.startswith(("http://", "https://")):
        try:
            return urljoin(base_url, link.strip())
        except ValueError:  # "http://[::1" and other links no URL parser accepts
            return None
    return link.strip()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _escape(value: str | None) -> str | None:
    if value is None:
        return None
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ttl_seconds(value: Any) -> float | None:
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        return None
    return minutes * 60 if 0 < minutes < 100_000 else None
