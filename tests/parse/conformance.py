"""Compare our parse of other parsers' fixtures with what those parsers assert.

The fixtures (``../shared/data/feed-fixtures``, see its README) come from the test
suites of gofeed, feedparser, miniflux and reader. Each document goes through
``parse_feed`` with what the fetcher hands it: the body, the Content-Type header the
upstream test served it with, and the URL it was fetched from (``peer_base``, else
the URL of the upstream test server) as the base for relative links. Each asserted
field is then compared as text: ours as stored, upstream's read by the standard
library's HTML tokenizer, never by our own converter (see ``text``).
"""

from __future__ import annotations

import fnmatch
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from monitor.core.errors import ParseError
from monitor.core.types import Entry, ParsedFeed
from monitor.parse.entries import Limits
from monitor.parse.feeds import parse_feed

# Late enough for every fixture's dates, fixed so the run does not depend on the day.
NOW = datetime(2030, 1, 1, tzinfo=UTC)
# Where the upstream tests serve their files from (feedparser's test server); reader
# writes the folder of its data files as __RELBASE__ in its expectations.
UPSTREAM = "http://127.0.0.1:8097/"
RELBASE = "__RELBASE__"
FIELDS = (
    "accepted",
    "count",
    "title",
    "link",
    "guid",
    "published",
    "authors",
    "author_joined",
    "authors_raw",
    "body",
    "body_content",
    "body_any",
    "markup_only",
)
# The fields pooled over all suites for the 99 % target (with their variants).
POOLED = ("title", "link", "guid", "published", "authors", "body")
VARIANTS = {
    "authors": ("authors", "author_joined", "authors_raw"),
    "body": ("body", "body_content", "body_any"),
}


@dataclass(frozen=True)
class Outcome:
    doc: str
    suite: str
    field: str
    entry: int | None
    ok: bool
    expected: Any = None
    got: Any = None
    reason: str = ""
    choice: str | None = None  # the documented choice that explains a difference


@dataclass(frozen=True)
class Choice:
    documents: tuple[str, ...]
    fields: tuple[str, ...]
    reason: str
    ours_empty: bool = False  # covers only differences where we store nothing

    def covers(self, outcome: Outcome) -> bool:
        if self.ours_empty and not _empty(outcome.got):
            return False
        return outcome.field in self.fields and any(
            fnmatch.fnmatchcase(outcome.doc, pattern) for pattern in self.documents
        )


def _empty(got: Any) -> bool:
    """Nothing stored: no value, no author, or bodies that are all spaces."""
    return got is None or got == [] or (isinstance(got, str) and not got.strip())


def load_choices(path: Path) -> list[Choice]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [
        Choice(
            tuple(row["documents"]),
            tuple(row["fields"]),
            " ".join(str(row["reason"]).split()),
            ours_empty=row.get("when") == "ours_empty",
        )
        for row in rows
    ]


def manifest(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def document_url(row: dict[str, Any]) -> str:
    """The URL the upstream test fetched the document from."""
    peer_base: str | None = row.get("peer_base")
    src: str = row["src"]
    return peer_base or UPSTREAM + src.partition(" ")[2]


def parse_document(folder: Path, row: dict[str, Any]) -> ParsedFeed | ParseError:
    headers = row.get("headers") or {}
    base = document_url(row)
    body = (folder / row["path"]).read_bytes()
    try:
        return parse_feed(body, _header(headers, "content-type"), base, NOW, Limits())
    except ParseError as exc:
        return exc


def compare_document(row: dict[str, Any], parsed: ParsedFeed | ParseError) -> Iterator[Outcome]:
    doc, suite = row["id"], row["set"]
    folder_url = document_url(row).rsplit("/", 1)[0]
    row = json.loads(json.dumps(row).replace(RELBASE, folder_url))
    accepted = isinstance(parsed, ParsedFeed)
    yield Outcome(
        doc,
        suite,
        "accepted",
        None,
        accepted == row["peer_ok"],
        row["peer_ok"],
        accepted,
        "" if accepted == row["peer_ok"] else (str(parsed) if not accepted else "we accept it"),
    )
    if not isinstance(parsed, ParsedFeed) or not row["peer_ok"]:
        return
    total = len(parsed.entries) + parsed.dropped_entries
    if row.get("count") is not None:
        ok = total == row["count"]
        reason = "" if ok else f"{total} entries, upstream {row['count']}"
        yield Outcome(doc, suite, "count", None, ok, row["count"], total, reason)
    for index, expected in enumerate(row.get("entries") or []):
        entry = parsed.entries[index] if index < len(parsed.entries) else None
        for field, want in expected.items():
            if field.startswith("_"):
                continue
            yield _compare_field(doc, suite, index, field, want, entry)


def _compare_field(
    doc: str, suite: str, index: int, field: str, want: Any, entry: Entry | None
) -> Outcome:
    if entry is None:
        return Outcome(doc, suite, field, index, False, want, None, "entry missing")
    if field.startswith("body") and not text(want):
        # An image, an empty <span>: markup with no text. We store text only, so
        # there is nothing to compare; counted apart so body* is not inflated.
        return Outcome(doc, suite, "markup_only", index, True, want, None, "not compared")
    got, ok = COMPARE[field](want, entry)
    return Outcome(doc, suite, field, index, ok, want, got, "" if ok else "differs")


def text(value: Any) -> str:
    """An expected value as text, every run of spaces as one.

    Not our own ``html_to_text``: a bug there would then turn up on both sides and
    cancel out wherever upstream expects markup. The standard library's HTML
    tokenizer reads it instead: tags dropped (a block or a line break is a space),
    entities decoded, scripts and styles unread.
    """
    if value is None:
        return ""
    reader = _TextOnly()
    reader.feed(str(value))
    reader.close()
    return " ".join("".join(reader.parts).split())


class _TextOnly(HTMLParser):
    UNREAD = frozenset({"script", "style"})
    # HTML's block-level and line-breaking elements: a boundary between words.
    BLOCKS = frozenset((
        "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div",
        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
        "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    ))  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.unread = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.unread += tag in self.UNREAD
        self._boundary(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._boundary(tag)

    def handle_endtag(self, tag: str) -> None:
        self.unread -= tag in self.UNREAD and self.unread > 0
        self._boundary(tag)

    def handle_data(self, data: str) -> None:
        if not self.unread:
            self.parts.append(data)

    def _boundary(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append(" ")


def _plain(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _title(want: Any, entry: Entry) -> tuple[Any, bool]:
    got = _plain(entry.title)
    return got, got in {text(want), _plain(want)}


def _exact(attribute: str) -> Any:
    def compare(want: Any, entry: Entry) -> tuple[Any, bool]:
        got = getattr(entry, attribute)
        return got, (got or "") == _plain(want)

    return compare


def _published(want: Any, entry: Entry) -> tuple[Any, bool]:
    # To the second: gofeed drops fractions of a second, we keep them.
    ours = entry.published.replace(microsecond=0) if entry.published else None
    wanted = datetime.fromisoformat(want) if want else None
    return (ours.isoformat() if ours else None), ours == wanted


def _authors(want: Any, entry: Entry) -> tuple[Any, bool]:
    got = [_plain(a) for a in entry.authors]
    return got, got == [text(w) for w in want] or got == [_plain(w) for w in want]


def _author_joined(want: Any, entry: Entry) -> tuple[Any, bool]:
    got = ", ".join(_plain(a) for a in entry.authors)
    return got, got in {text(want), _plain(want)}


def _contains(*attributes: str) -> Any:
    def compare(want: Any, entry: Entry) -> tuple[Any, bool]:
        got = " ".join(_plain(getattr(entry, a)) for a in attributes)
        needle = text(want)
        return got[:300], needle in got or _plain(want) in got

    return compare


COMPARE = {
    "title": _title,
    "link": _exact("url"),
    "guid": _exact("guid"),
    "published": _published,
    "authors": _authors,
    "authors_raw": _authors,
    "author_joined": _author_joined,
    "body": _contains("summary", "content"),
    "body_content": _contains("content"),
    "body_any": _contains("title", "summary", "content"),
}


def overreach(choices: list[Choice], outcomes: list[Outcome]) -> list[str]:
    """Each glob of a choice that matches no document, or a document where the
    choice explains no difference: such a glob would absorb a future bug there."""
    documents = sorted({o.doc for o in outcomes})
    explained = {(id(c), o.doc) for c in choices for o in outcomes if not o.ok and c.covers(o)}
    found = []
    for choice in choices:
        for pattern in choice.documents:
            named = [d for d in documents if fnmatch.fnmatchcase(d, pattern)]
            found += [] if named else [f"{pattern}: matches no document"]
            found += [f"{pattern}: {d}" for d in named if (id(choice), d) not in explained]
    return found


def apply_choices(outcomes: Iterable[Outcome], choices: list[Choice]) -> list[Outcome]:
    result = []
    for outcome in outcomes:
        choice = None if outcome.ok else next((c for c in choices if c.covers(outcome)), None)
        if choice is not None:
            outcome = Outcome(**{**outcome.__dict__, "ok": True, "choice": choice.reason})
        result.append(outcome)
    return result


def agreement(outcomes: Iterable[Outcome]) -> dict[tuple[str, str], tuple[int, int]]:
    """(suite, field) -> (agreeing, compared); suite "ALL" pools every suite."""
    seen: Counter[tuple[str, str]] = Counter()
    good: Counter[tuple[str, str]] = Counter()
    for o in outcomes:
        for suite in (o.suite, "ALL"):
            seen[suite, o.field] += 1
            good[suite, o.field] += o.ok
            pooled = next((k for k, v in VARIANTS.items() if o.field in v), None)
            if pooled:
                seen[suite, pooled + "*"] += 1
                good[suite, pooled + "*"] += o.ok
    return {key: (good[key], seen[key]) for key in seen}


def table(stats: dict[tuple[str, str], tuple[int, int]]) -> str:
    """A Markdown table: one row per suite and ALL, one column per field; a field
    with a star pools its variants (authors*: authors, author_joined, authors_raw)."""
    suites = [*sorted({s for s, _ in stats} - {"ALL"}), "ALL"]
    columns = [f for f in FIELDS if any((s, f) in stats for s in suites)]
    columns += [k + "*" for k in VARIANTS if any((s, k + "*") in stats for s in suites)]
    lines = ["| suite | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for suite in suites:
        cells = []
        for field in columns:
            good, seen = stats.get((suite, field), (0, 0))
            cells.append(f"{good}/{seen} {100 * good / seen:.1f}%" if seen else "")
        lines.append(f"| {suite} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
