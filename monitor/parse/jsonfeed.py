"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) to raw entries.

Titles and summaries are plain text in JSON Feed: their brackets are escaped before
they meet the HTML-to-text step, while entities left by publishers who escape twice
are decoded; ``content_text`` is escaped whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from monitor.core.errors import ParseError
from monitor.parse.entries import RawEntry, http_link, plain_to_html

# "https://jsonfeed.org/version/1.1" (or a later one: its items are read the same way),
# the http spelling, or a bare "1", "1.0", "1.1".
_VERSION = re.compile(r"https?://jsonfeed\.org/version/\S+|1(?:\.[01])?", re.IGNORECASE)


def read_json_feed(body: bytes, base_url: str) -> tuple[dict[str, Any], list[RawEntry]]:
    """Raises ParseError saying what was found when ``body`` is no JSON Feed."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"invalid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    # UnicodeDecodeError; ValueError: a number of more than 4,300 digits.
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ParseError(f"invalid JSON: {type(exc).__name__}") from exc
    if doc is None:  # "null": nothing published (yet)
        return {}, []
    if not isinstance(doc, dict):
        raise ParseError(f"a JSON {_kind(doc)}, not a JSON Feed")
    _check_version(doc.get("version"))
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError("a JSON Feed without an items list")
    language = _text(doc.get("language"))
    meta = {
        "title": _text(doc.get("title")),
        "link": _text(doc.get("home_page_url")),
        "language": language,
    }
    feed_authors = _authors(doc)
    return meta, [
        _item(item, feed_authors, language, base_url) for item in items if isinstance(item, dict)
    ]


def _check_version(version: Any) -> None:
    if version is None:
        raise ParseError("JSON with no version, not a JSON Feed")
    if not isinstance(version, str):
        raise ParseError(f"JSON with a {_kind(version)} as version, not a JSON Feed 1.x")
    if not _VERSION.fullmatch(version.strip()):
        raise ParseError(f"JSON with version {version[:60]!r}, not JSON Feed 1.x")


def _kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean"}
    return names.get(type(value), "number")


def _item(
    item: dict[str, Any], feed_authors: tuple[str, ...], feed_language: str | None, base: str
) -> RawEntry:
    guid = item.get("id")
    # The spec: a number as id is to be read as a string. (A boolean is no id.)
    numeric = isinstance(guid, int | float) and not isinstance(guid, bool)
    return RawEntry(
        guid=str(guid) if isinstance(guid, str) or numeric else None,
        link=http_link((_text(item.get("url")), _text(item.get("external_url"))), base),
        title=plain_to_html(_text(item.get("title")), declared=False),
        summary_html=plain_to_html(_text(item.get("summary")), declared=False),
        content_html=_text(item.get("content_html"))
        or plain_to_html(_text(item.get("content_text"))),
        # The feed's authors are those of items that name none (a list of unnamed
        # authors still says "not the feed's").
        authors=_authors(item) if _has_authors(item) else feed_authors,
        language=_text(item.get("language")) or feed_language,
        published=_rfc3339(item.get("date_published")) or _rfc3339(item.get("date_modified")),
    )


def _authors(owner: dict[str, Any]) -> tuple[str, ...]:
    """1.1's ``authors`` list, then 1.0's ``author`` (feeds write both for old readers)."""
    return tuple(dict.fromkeys(_names(_people(owner))))


def _has_authors(owner: dict[str, Any]) -> bool:
    return any(isinstance(person, dict) for person in _people(owner))


def _people(owner: dict[str, Any]) -> list[Any]:
    listed = owner.get("authors")
    # An "authors" object instead of a list is one author (written so in the wild).
    listed = [listed] if isinstance(listed, dict) else listed
    return [*(listed if isinstance(listed, list) else []), owner.get("author")]


def _names(people: Iterable[Any]) -> Iterable[str]:
    for person in people:
        name = person.get("name") if isinstance(person, dict) else None
        if isinstance(name, str) and name.strip():
            yield name.replace("&", "&amp;").replace("<", "&lt;")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
