"""Fuzzing (hypothesis) of what reads the outside world: feeds, URLs, watchlists, articles.

Each property is a ``Property``: a strategy that builds hostile input and a check
that either passes or raises. The pytest tests below run every property for
``MONITOR_FUZZ_EXAMPLES`` examples (default 60, enough for CI); the reliability
report (tests.reliability.fuzzing) runs the same properties for many more and
counts the failures. A check fails on any exception other than the project's own
for that input (ParseError, WatchlistError), and on any broken invariant.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core.errors import ParseError, WatchlistError
from monitor.core.types import ArticleText, Entry, Match, ParsedFeed
from monitor.dedup.urls import TRACKING, canonical_url
from monitor.match.engine import Matcher
from monitor.match.index import compile_index
from monitor.match.values import Watchlist
from monitor.parse.entries import OLDEST, Limits
from monitor.parse.feeds import parse_feed
from monitor.text.fold import fold_words
from monitor.text.plain import clean, html_to_text, normalise
from monitor.watchlist.load import parse_watchlist

EXAMPLES = int(os.environ.get("MONITOR_FUZZ_EXAMPLES", "60"))
NOW = datetime(2024, 11, 9, 12, 0, tzinfo=UTC)
BASE_URL = "https://feeds.example/feed"
# Small caps, so that the generated feeds reach them.
LIMITS = Limits(
    max_entries=6, title=60, summary=200, content=300, url=160, guid=40, authors=3, author=24
)
# Characters XML 1.0 forbids (PostgreSQL refuses NUL): an oracle of our own, not the code's.
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Property:
    target: str  # what is fuzzed, one Figure of the report each
    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]


# --- feeds: strategies ---------------------------------------------------------

HOSTILE = st.sampled_from(
    [
        "\x00", "&#0;", "&#x0;", "&#xD800;", "&#xdfff;", "&#55296;", "&#x110000;",
        "&#99999999999999999999;", "&#xFFFE;", "\ufffe", "\x0b", "\x1f", "\x7f", "\x85",
        "&bogus;", "&amp;amp;", "<![CDATA[x]]>", "]]>", "<b>bold</b>", "<p>a</p><p>b</p>",
        "<script>alert(1)</script>", "<!-- c -->", "&lt;i&gt;", "\u202e", "\u200b", "\u2028",
        "\r\n", "\r", "\t", "   ", "\U0001d54f", "e\u0301", "ß", "%", "&", "<", ">", '"', "'",
        "<br/>", "<img src=x onerror=y>", "<?pi x?>", "<!DOCTYPE x>", "\ud800", "\udfff", "İ",
    ]
)  # fmt: skip
TEXT = st.one_of(
    st.text(max_size=40),
    HOSTILE,
    st.lists(HOSTILE | st.text(max_size=6), max_size=8).map("".join),
)
MONTHS = ["Jan", "Feb", "Dec", "jan", "Foo", ""]
ZONES = ["GMT", "UT", "Z", "EST", "+0000", "-2359", "+2359", "+9999", "-0000", "XYZ", ""]
ISO_ZONES = ["Z", "+00:00", "+23:59", "-23:59", "+99:99", "-05:30", ""]
YEARS = st.sampled_from([1, 99, 1900, 1969, 1970, 1994, 1995, 2024, 2038, 9999, 10000, 99999])
SMALL = st.integers(0, 99)


@st.composite
def date_texts(draw: st.DrawFn) -> str:
    """Dates as feeds write them, with fields anywhere from plausible to absurd."""
    year = draw(YEARS | st.integers(-5, 100_000))
    month, day, hour, minute = draw(SMALL), draw(SMALL), draw(SMALL), draw(SMALL)
    rfc = (
        f"Mon, {day} {draw(st.sampled_from(MONTHS))} {year} "
        f"{hour:02}:{minute:02}:{draw(SMALL):02} {draw(st.sampled_from(ZONES))}"
    )
    iso = (
        f"{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:00{draw(st.sampled_from(ISO_ZONES))}"
    )
    near_now = draw(st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31)))
    return draw(st.sampled_from([rfc, iso, near_now.isoformat(), f"{near_now}Z"]) | TEXT)


LINKS = st.one_of(
    st.sampled_from(
        [
            "https://news.example/a?utm_source=rss&id=1#top",
            "HTTP://News.EXAMPLE:80/a",
            "http://[::1",
            "http://[2001:db8::1]:8080/x",
            "javascript:alert(1)",
            "/relative",
            "//other.example/x",
            "http://ex ample.com/",
            "https://bücher.example/straße",
            "http://a:99999/",
            "https://example.com/%%41",
            "http://\ud800/",
            "mailto:a@b",
            "https://user:pw@example.com/",
            "http://a\\b/",
            "https://example.com/" + "x" * 300,
        ]
    ),
    TEXT,
    st.builds("{}://{}/{}".format, st.sampled_from(["http", "https", "ftp", "HtTp"]), TEXT, TEXT),
)


def xml_text(value: str, mode: str) -> str:
    """``value`` as element content: escaped, in CDATA, or raw (not well-formed)."""
    if mode == "escaped":
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if mode == "cdata":
        return f"<![CDATA[{value}]]>"
    return value


@st.composite
def elements(draw: st.DrawFn, tags: dict[str, st.SearchStrategy[str]]) -> str:
    """Some of ``tags``, each maybe twice, with attributes and odd text."""
    out = []
    for tag, values in tags.items():
        for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2]))):
            mode = draw(st.sampled_from(["escaped", "escaped", "cdata", "raw"]))
            attrs = draw(
                st.sampled_from(
                    ["", ' type="html"', ' type="text"', ' type="xhtml"', ' isPermaLink="false"']
                )
            )
            out.append(f"<{tag}{attrs}>{xml_text(draw(values), mode)}</{tag}>")
    return "".join(out)


def _nested(draw: st.DrawFn, inner: str) -> str:
    """``inner`` wrapped in random elements, sometimes very deep."""
    depth = draw(st.sampled_from([0, 0, 0, 1, 2, 50, 400]))
    tag = draw(st.sampled_from(["div", "item", "entry", "x:y", "channel"]))
    return f"<{tag}>" * depth + inner + f"</{tag}>" * depth


RSS_ITEM = {
    "title": TEXT,
    "link": LINKS,
    "guid": TEXT | LINKS,
    "pubDate": date_texts(),
    "dc:date": date_texts(),
    "description": TEXT,
    "content:encoded": TEXT,
    "author": TEXT,
    "dc:creator": TEXT,
    "dc:language": TEXT,
}
ATOM_ENTRY = {
    "id": TEXT | LINKS,
    "title": TEXT,
    "published": date_texts(),
    "updated": date_texts(),
    "summary": TEXT,
    "content": TEXT,
}
CHANNEL = {"title": TEXT, "link": LINKS, "language": TEXT, "ttl": TEXT | st.integers().map(str)}


@st.composite
def rss_documents(draw: st.DrawFn) -> str:
    items = [
        _nested(draw, f"<item>{draw(elements(RSS_ITEM))}</item>")
        for _ in range(draw(st.integers(0, 9)))
    ]
    root, close = draw(
        st.sampled_from(
            [
                ('<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content='
                 '"http://purl.org/rss/1.0/modules/content/">', "</rss>"),
                ('<rss version="0.91">', "</rss>"),
                ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                 'xmlns="http://purl.org/rss/1.0/">', "</rdf:RDF>"),
            ]
        )
    )  # fmt: skip
    return f"{root}<channel>{draw(elements(CHANNEL))}{''.join(items)}</channel>{close}"


@st.composite
def atom_documents(draw: st.DrawFn) -> str:
    entries = []
    for _ in range(draw(st.integers(0, 9))):
        link = f'<link rel="{draw(TEXT)}" href="{draw(LINKS)}"/>'
        author = f"<author><name>{draw(TEXT)}</name></author>" * draw(st.integers(0, 5))
        body = draw(elements(ATOM_ENTRY)) + link + author
        entries.append(_nested(draw, f'<entry xml:lang="{draw(TEXT)}">{body}</entry>'))
    head = draw(elements({"title": TEXT, "subtitle": TEXT}))
    return f'<feed xmlns="http://www.w3.org/2005/Atom">{head}{"".join(entries)}</feed>'


ENCODINGS = ["utf-8", "utf-16", "utf-16-be", "utf-32", "iso-8859-1", "cp1252", "shift_jis"]


@st.composite
def encoded(draw: st.DrawFn, document: str) -> bytes:
    """``document`` with an XML declaration, encoded (maybe not as declared)."""
    actual = draw(st.sampled_from(ENCODINGS))
    declared = draw(st.sampled_from([actual, actual, "koi8-r", "no-such-encoding", None]))
    head = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
    return (head + document).encode(actual, errors="xmlcharrefreplace")


@st.composite
def mangled(draw: st.DrawFn, body: bytes) -> bytes:
    """``body`` maybe with a few bytes changed, maybe cut short."""
    data = bytearray(body)
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 3]))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if data and draw(st.booleans()):
        del data[draw(st.integers(0, len(data))) :]
    return bytes(data)


CONTENT_TYPES = st.sampled_from(
    [None, "application/rss+xml", "application/atom+xml", "text/xml; charset=koi8-r",
     "text/html", "application/json", "application/feed+json; charset=utf-16", "x/y; charset="]
)  # fmt: skip
FeedCase = tuple[bytes, str | None]


@st.composite
def xml_feeds(draw: st.DrawFn) -> FeedCase:
    document = draw(rss_documents() | atom_documents())
    return draw(mangled(draw(encoded(document)))), draw(CONTENT_TYPES)


JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    TEXT,
    st.sampled_from(["@BIG@", "@DEEP@"]),  # replaced by raw JSON below
)
JSON_ANY = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
JSON_ITEM = st.fixed_dictionaries(
    {},
    optional={
        "id": TEXT | st.integers() | JSON_ANY,
        "url": LINKS | JSON_ANY,
        "external_url": LINKS,
        "title": TEXT | JSON_ANY,
        "summary": TEXT,
        "content_html": TEXT | JSON_ANY,
        "content_text": TEXT,
        "date_published": date_texts() | JSON_ANY,
        "date_modified": date_texts(),
        "authors": st.lists(st.fixed_dictionaries({"name": TEXT | JSON_ANY})) | JSON_ANY,
        "author": st.fixed_dictionaries({"name": TEXT}) | JSON_ANY,
        "language": TEXT,
    },
)
JSON_VERSIONS = st.sampled_from(
    ["https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1", "1.1", 1, None]
)
RAW_JSON = {'"@BIG@"': "1" * 5000, '"@DEEP@"': "[" * 3000 + "]" * 3000}


@st.composite
def json_feeds(draw: st.DrawFn) -> FeedCase:
    doc = draw(
        st.fixed_dictionaries(
            {"version": JSON_VERSIONS, "items": st.lists(JSON_ITEM | JSON_ANY, max_size=9)},
            optional={"title": TEXT, "home_page_url": LINKS, "language": TEXT | JSON_ANY},
        )
    )
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    for marker, raw in RAW_JSON.items():
        text = text.replace(marker, raw)
    body = text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"])), "surrogatepass")
    return draw(mangled(body)), draw(st.sampled_from([None, "application/feed+json"]))


# --- feeds: checks -------------------------------------------------------------


def check_parse(case: FeedCase) -> None:
    """A ParsedFeed within every cap, or a ParseError; never another exception."""
    body, content_type = case
    try:
        parsed = parse_feed(body, content_type, BASE_URL, NOW, LIMITS)
    except ParseError:
        return
    check_parsed(parsed)


def check_parsed(parsed: ParsedFeed) -> None:
    assert len(parsed.entries) <= LIMITS.max_entries
    assert parsed.dropped_entries >= 0
    _text_within(parsed.title, 1000)
    _text_within(parsed.link, LIMITS.url)
    _text_within(parsed.language, 35)
    assert parsed.ttl_s is None or 0 < parsed.ttl_s < math.inf
    for entry in parsed.entries:
        check_entry(entry)


def check_entry(entry: Entry) -> None:
    for value, cap in [
        (entry.guid, LIMITS.guid),
        (entry.url, LIMITS.url),
        (entry.title, LIMITS.title),
        (entry.summary, LIMITS.summary),
        (entry.content, LIMITS.content),
        (entry.language, 35),
    ]:
        _text_within(value, cap)
    assert len(entry.authors) <= LIMITS.authors
    for author in entry.authors:
        _text_within(author, LIMITS.author)
    key = entry.canonical_url
    assert key is None or (key.startswith(("http://", "https://")) and canonical_url(key) == key)
    assert entry.entry_hash
    check_date(entry.published)


def check_date(published: datetime | None) -> None:
    """Aware, in UTC, not before 1995 nor more than a day ahead of the fetch."""
    if published is None:
        return
    assert published.utcoffset() == timedelta(0), published
    assert OLDEST <= published <= NOW + timedelta(days=1), published


def _text_within(value: str | None, cap: int) -> None:
    if value is None:
        return
    assert len(value) <= cap, (len(value), cap)
    assert not XML_INVALID.search(value), ascii(value)


FEED_PROPERTIES = [
    Property("feed parser", "arbitrary bytes", st.tuples(st.binary(), CONTENT_TYPES), check_parse),
    Property("feed parser", "mangled RSS and Atom", xml_feeds(), check_parse),
    Property("feed parser", "mangled JSON Feed", json_feeds(), check_parse),
]


# --- normalisation -------------------------------------------------------------

# Text as feeds send it: any character, with the troublesome ones often.
RAW_TEXT = st.text(
    st.characters() | st.sampled_from("\x00\r\n\t \u00a0\u2028\x85\ufeff\ufffe\ud800\udfff<>&;#")
)
LIMIT = st.integers(0, 400)


def check_clean(case: tuple[str, int]) -> None:
    """Folded once for all: cleaning clean text changes nothing; spaces folded; no
    control character but the line break; within the limit."""
    value, limit = case
    once = clean(value, limit)
    assert clean(once, limit) == once
    _plain(once, limit)


def check_html_to_text(case: tuple[str, int]) -> None:
    value, limit = case
    text = html_to_text(value, limit)
    _plain(text, limit)
    assert clean(text, limit) == text  # already as clean as clean makes it


def _plain(text: str, limit: int) -> None:
    assert len(text) <= limit
    assert text == text.strip()
    assert "  " not in text and "\t" not in text and "\n\n\n" not in text
    controls = [ch for ch in text if ch != "\n" and (ch < " " or "\x7f" <= ch <= "\x9f")]
    assert not controls, ascii(text)
    assert not XML_INVALID.search(text), ascii(text)


def check_normalise(text: str) -> None:
    """Words of letters and digits between single spaces; a fixed point."""
    key = normalise(text)
    assert normalise(key) == key
    assert all(word.isalnum() for word in key.split(" ") if key), ascii(key)


TEXT_PROPERTIES = [
    Property("normalisation", "clean", st.tuples(RAW_TEXT, LIMIT), check_clean),
    Property(
        "normalisation", "html_to_text", st.tuples(RAW_TEXT | TEXT, LIMIT), check_html_to_text
    ),
    Property("normalisation", "normalise", RAW_TEXT, check_normalise),
]


# --- URLs ----------------------------------------------------------------------

HOST_PARTS = st.sampled_from(
    ["example", "EXAMPLE", "com", "bücher", "xn--bcher-kva", "", ".", "..", "[::1]",
     "[2001:DB8::1]", "[::1", "127.0.0.1", "999.1.1.1", "\\", "@", "%41", "a b", "\ud800",
     "\x00", "ÉCOLE", "ﬁ"]
)  # fmt: skip
PORTS = st.sampled_from(["", ":", ":80", ":443", ":8080", ":0", ":99999", ":-1", ":x", ":０"])
URL_BITS = st.sampled_from(
    ["/", "?", "&", "=", "#", "%", "%2", "%41", "%e9", "%%", "utm_source", "UTM_Medium", "fbclid",
     "utm%5Fcampaign", "id", "1", "é", " ", "\t", "\n", "\ud800", "+", ";", "..", "\\", "@"]
)  # fmt: skip


@st.composite
def url_like(draw: st.DrawFn) -> str:
    """Strings shaped like URLs, broken in every place a URL can be."""
    scheme = draw(st.sampled_from(["http", "https", "HTTPS", "hTtP", "ftp", "", "javascript"]))
    sep = draw(st.sampled_from(["://", "://", ":/", ":", "//", ":///"]))
    userinfo = draw(st.sampled_from(["", "", "user@", "u:p@", "@"]))
    host = ".".join(draw(st.lists(HOST_PARTS, min_size=1, max_size=3)))
    rest = "".join(draw(st.lists(URL_BITS | st.text(max_size=3), max_size=12)))
    return f"{draw(TEXT_PAD)}{scheme}{sep}{userinfo}{host}{draw(PORTS)}{rest}{draw(TEXT_PAD)}"


TEXT_PAD = st.sampled_from(["", "", " ", "\t", "\n", "\x00"])


def check_url(url: str) -> None:
    """None, or an http(s) key without fragment, user or tracking, that keys to itself."""
    key = canonical_url(url)
    if key is None:
        return
    parts = urlsplit(key)
    assert parts.scheme in ("http", "https") and parts.hostname, key
    assert not parts.fragment and "@" not in parts.netloc, key
    names = [unquote_plus(pair.split("=", 1)[0]) for pair in parts.query.split("&") if pair]
    assert not any(TRACKING.match(name) for name in names), key
    assert canonical_url(key) == key


def check_url_case(case: tuple[str, list[bool]]) -> None:
    """The case of the scheme and host does not change the key."""
    url, flips = case
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return  # urllib's own refusal ("[::1"): canonical_url says None, checked above
    origin = f"{parts.scheme}://{parts.netloc}"
    if not url.strip().startswith(origin):
        return  # not scheme://host: nothing to flip
    flipped = "".join(
        _flip(ch, flip) for ch, flip in zip(origin, flips + [False] * len(origin), strict=False)
    )
    assert canonical_url(flipped + url.strip()[len(origin) :]) == canonical_url(url)


def _flip(ch: str, flip: bool) -> str:
    """``ch`` in the other case, when that is one character that comes back as ``ch``."""
    other = ch.lower() if ch.isupper() else ch.upper()
    round_trip = other.upper() if ch.isupper() else other.lower()
    return other if flip and len(other) == 1 and round_trip == ch else ch


def check_url_tracking(case: tuple[str, str, str]) -> None:
    """A tracking parameter added to a URL never changes its key."""
    url, tracker, value = case
    url = url.strip()  # a parameter added after trailing spaces would be in the host
    key = canonical_url(url)
    if key is None or "#" in url or urlsplit(key).query != urlsplit(key).query.strip("&"):
        return
    joined = f"{url}{'&' if '?' in url else '?'}{tracker}={value}"
    assert canonical_url(joined) == key


TRACKERS = st.sampled_from(["utm_source", "UTM_Campaign", "fbclid", "gclid", "utm%5Fmedium"])
URL_PROPERTIES = [
    Property("URL canonicalisation", "URL-shaped strings", url_like() | TEXT, check_url),
    Property(
        "URL canonicalisation",
        "case of scheme and host",
        st.tuples(url_like(), st.lists(st.booleans(), max_size=40)),
        check_url_case,
    ),
    Property(
        "URL canonicalisation",
        "tracking parameters",
        st.tuples(url_like(), TRACKERS, st.text(st.characters(codec="utf-8"), max_size=6)),
        check_url_tracking,
    ),
]


# --- watchlists: strategies ----------------------------------------------------

VOCAB = [
    "north", "korea", "troops", "deployed", "deployment", "russia", "missile", "kursk", "un",
    "nato", "sanctions", "drone", "strike", "straße", "café", "naïve", "ﬁnance", "istanbul",
    "élysée", "kim", "2024", "x1",
]  # fmt: skip
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)


@st.composite
def term_specs(draw: st.DrawFn, case_ok: bool, regex_ok: bool) -> Any:
    """A term as a user writes it: words, "a phrase", prefix*, NEAR/n, or an object."""
    words = draw(st.lists(st.sampled_from(VOCAB), min_size=1, max_size=3))
    if draw(st.booleans()) and len(words[-1]) >= 3 and words[-1].isascii():
        words[-1] = words[-1][: draw(st.integers(3, len(words[-1])))] + "*"
    text = " ".join(words)
    if "*" not in text and draw(st.booleans()):
        text = f'"{text}"'
    elif len(words) > 1 and draw(st.booleans()):
        text += f" NEAR/{draw(st.integers(0, 4))}"
    kind = draw(st.sampled_from(["plain", "plain", "object", "regex"]))
    if kind == "object":
        obj = {"term": text, "weight": draw(st.sampled_from([0.5, 1, 3]))}
        return obj | ({"case": True} if case_ok and draw(st.booleans()) else {})
    if kind == "regex" and regex_ok:
        return {"regex": draw(st.sampled_from([r"\bT-\d+", "kim|jong", r"nato\W", "a*", "^"]))}
    return text


@st.composite
def watchlist_specs(draw: st.DrawFn, case_ok: bool = True, regex_ok: bool = True) -> Any:
    """A valid watchlist, as the dict its YAML file holds."""
    terms = st.lists(term_specs(case_ok, regex_ok), min_size=1, max_size=3)
    actors = draw(st.dictionaries(NAMES.map("a_{}".format), terms, min_size=1, max_size=3))
    concepts = {
        name: {
            "terms": draw(terms),
            "exclude": draw(st.lists(term_specs(False, False), max_size=1)),
        }
        for name in draw(st.lists(NAMES.map("c_{}".format), max_size=3, unique=True))
    }
    refs = sorted([*actors, *concepts])
    rules = {}
    for i in range(draw(st.integers(1, 4))):
        rule: dict[str, Any] = {"all": draw(st.lists(st.sampled_from(refs), max_size=2))}
        rule["any"] = draw(
            st.lists(st.sampled_from(refs), min_size=0 if rule["all"] else 1, max_size=3)
        )
        rule["none"] = draw(st.lists(st.sampled_from(refs), max_size=1))
        if draw(st.booleans()):
            rule["fields"] = draw(st.sampled_from([["title"], ["body"], ["title", "body"]]))
        if draw(st.booleans()):
            rule["min_score"] = draw(st.sampled_from([0, 1, 2.5]))
        rules[f"r{i}"] = rule
    return {"near": draw(st.integers(0, 6)), "actors": actors, "concepts": concepts, "rules": rules}


def load(spec: Any) -> Watchlist:
    text = yaml.safe_dump(spec, allow_unicode=True)
    return parse_watchlist(text.encode("utf-8", "surrogatepass"), "w.yaml", "w")


SCHEMA_KEYS = [
    "name", "description", "languages", "feeds", "near", "actors", "concepts", "rules",
    "aliases", "exclude", "terms", "term", "regex", "weight", "case", "stem", "all", "any",
    "none", "weights", "min_score", "fields", "title", "body",
]  # fmt: skip
ODD_TERMS = [
    "d*", "de**", "a*b", '"', '"open', "x NEAR/51", "x NEAR/99999999999999999999", '"a b" NEAR/2',
    "!!!", "", " ", "(", "a{99999999999}", "(?P<x>", "(" * 300 + ")" * 300, "[", "\\", "\ud800",
]  # fmt: skip
YAML_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 60),
    st.floats(),
    st.sampled_from(SCHEMA_KEYS + ODD_TERMS),
    st.text(max_size=8),
)
YAML_VALUE = st.recursive(
    YAML_SCALAR,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(SCHEMA_KEYS) | YAML_SCALAR, inner, max_size=4)
    ),
    max_leaves=24,
)


@st.composite
def broken_specs(draw: st.DrawFn) -> Any:
    """A valid watchlist with a few values replaced, keys added or removed."""
    top = {"top": draw(watchlist_specs())}
    for _ in range(draw(st.integers(1, 4))):
        holder, key = _somewhere(draw, top)
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "delete" and isinstance(holder, dict) and holder is not top:
            holder.pop(key, None)
        elif action == "add" and isinstance(holder, dict) and holder is not top:
            holder[draw(st.sampled_from(SCHEMA_KEYS) | YAML_SCALAR)] = draw(YAML_VALUE)
        else:
            holder[key] = draw(YAML_VALUE)
    return top["top"]


def _somewhere(draw: st.DrawFn, top: dict[str, Any]) -> tuple[Any, Any]:
    """A container inside ``top`` and one of its keys (or indexes)."""
    holder: Any = top
    key: Any = "top"
    while isinstance(holder[key], dict | list) and holder[key] and draw(st.integers(0, 3)):
        holder = holder[key]
        keys = sorted(holder, key=repr) if isinstance(holder, dict) else range(len(holder))
        key = draw(st.sampled_from(list(keys)))
    return holder, key


YAML_TOKENS = st.sampled_from(
    ["rules:", "actors:", "concepts:", "all: [a]", "a: [x]", "  ", "    ", "\n", "- ", "[", "]",
     "{", "}", ": ", ",", "&a ", "*a", "<<: ", "<<: *a", "!!python/object:os.system", "!!binary ",
     "!!str ", "!!float ", "!!map ", "!!set ", "'", '"', "#", "|", ">", "---\n", "...\n",
     "%YAML 1.1\n", "\t", "? ", "\ufeff", "\x00", "\x85", "\u2028", "~", ".nan", ".inf", "1e999",
     "0x1F", "2024-01-01", "\\u", "\\", "\r"]
)  # fmt: skip


@st.composite
def yaml_texts(draw: st.DrawFn) -> bytes:
    """YAML-ish text: tokens of YAML, or a valid file with characters changed."""
    if draw(st.booleans()):
        text = "".join(draw(st.lists(YAML_TOKENS | st.text(max_size=4), max_size=40)))
    else:
        chars = list(yaml.safe_dump(draw(watchlist_specs()), allow_unicode=True))
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(chars)))
            chars[at:at] = draw(YAML_TOKENS | st.text(max_size=2))
            if draw(st.booleans()):
                del chars[draw(st.integers(0, len(chars) - 1))]
        text = "".join(chars)
    if draw(st.integers(0, 7)) == 0:
        text = "rules:\n  r: {all: " + "[" * draw(st.integers(90, 1500)) + "\n"
    return text.encode("utf-8", "surrogatepass")


# --- watchlists: checks --------------------------------------------------------

LOCATION = re.compile(r"w\.yaml:(\d+):(\d+): ")
ARTICLES = [
    ArticleText("a", "North Korea sends troops", "Kim deployed troops to Kursk. NATO: T-72.", "en"),
    ArticleText("b", "", "", None),
    ArticleText("c", "ÉLYSÉE ﬁnance", "straße café naïve 2024 x1 " * 20, "de"),
]


def check_watchlist_bytes(raw: bytes) -> None:
    """A Watchlist whose every rule compiles and runs, or a WatchlistError that says where."""
    try:
        watchlist = parse_watchlist(raw, "w.yaml", "w")
    except WatchlistError as exc:
        _located(exc.message, raw)
        return
    matcher = Matcher(compile_index([watchlist]))
    for article in ARTICLES:
        check_matches(matcher.match(article), article)


def check_watchlist_spec(spec: Any) -> None:
    try:
        text = yaml.safe_dump(spec, allow_unicode=True)
    except yaml.YAMLError:
        return  # not YAML at all (a key PyYAML cannot write): nothing to load
    check_watchlist_bytes(text.encode("utf-8", "surrogatepass"))


def _located(message: str, raw: bytes) -> None:
    where = LOCATION.match(message)
    assert where, message
    line, column = int(where[1]), int(where[2])
    # YAML breaks lines at \r, \x85, \u2028 too: splitlines() counts at least as many
    lines = len(raw.decode("utf-8", "replace").splitlines())
    assert 1 <= line <= lines + 1 and column >= 1, message


WATCHLIST_PROPERTIES = [
    Property("watchlist loader", "YAML-ish text", yaml_texts(), check_watchlist_bytes),
    Property("watchlist loader", "mangled watchlists", broken_specs(), check_watchlist_spec),
    Property("watchlist loader", "arbitrary mappings", YAML_VALUE, check_watchlist_spec),
]


# --- matcher -------------------------------------------------------------------

TEXT_WORDS = st.sampled_from(VOCAB) | st.text("abcdeknorstuéüßﬁ0123", min_size=1, max_size=8)
SEPARATORS = st.sampled_from(
    [" ", "  ", ", ", " - ", "\n", ". ", " (", ") ", "\t", "\u00a0", "\u200b", "/", " «", "» "]
)
Words = tuple[list[str], list[str]]  # title, body
WORDS: st.SearchStrategy[Words] = st.tuples(
    st.lists(TEXT_WORDS, max_size=8), st.lists(TEXT_WORDS, max_size=30)
)


def check_matches(matches: list[Match], article: ArticleText) -> None:
    """Each hit covers words of the article's text; highlights lie inside the snippet."""
    texts = {"title": article.title, "body": article.body}
    for match in matches:
        assert math.isfinite(match.score) and match.score >= 0
        for term in match.terms:
            for field, start, end in term.hits:
                text = texts[field]
                assert 0 <= start < end <= len(text), (field, start, end, len(text))
                assert fold_words(text[start:end]), (term, text[start:end])
        for start, end in match.highlights:
            assert 0 <= start < end <= len(match.snippet)


def _article(title: list[str], body: list[str], seps: list[str] | None = None) -> ArticleText:
    def joined(words: list[str], offset: int) -> str:
        if seps is None:
            return " ".join(words)
        gaps = [seps[(offset + i) % len(seps)] for i in range(len(words))]
        return "".join(w + gap for w, gap in zip(words, gaps, strict=True))

    return ArticleText("a", joined(title, 0), joined(body, 7), "en")


def _outcome(matches: list[Match]) -> dict[str, float]:
    return {m.rule: round(m.score, 6) for m in matches}


def check_invariance(case: tuple[Any, Words, list[str], bool]) -> None:
    """Spacing, punctuation between words and (without case: true) case change nothing."""
    spec, (title, body), seps, upper = case
    matcher = Matcher(compile_index([load(spec)]))
    plain = _article(title, body)
    varied = _article(title, body, seps or [" "])
    if upper:
        varied = ArticleText("a", varied.title.upper(), varied.body.swapcase(), "en")
    found = matcher.match(plain)
    check_matches(found, plain)
    again = matcher.match(varied)
    check_matches(again, varied)
    assert _outcome(again) == _outcome(found)


def check_none_blocks(case: tuple[Any, Words, int]) -> None:
    """A rule never matches an article where one of its ``none`` refs occurs."""
    spec, (title, body), at = case
    blocker = "north korea troops"
    spec["concepts"]["c_blocker"] = {"terms": [f'"{blocker}"']}
    for rule in spec["rules"].values():
        rule["none"] = [*rule["none"], "c_blocker"]
    matcher = Matcher(compile_index([load(spec)]))
    title = [*title[:at], blocker, *title[at:]]
    body = [*body[:at], blocker, *body[at:]]
    assert matcher.match(_article(title, body)) == []


def check_articles(case: tuple[Any, str, str, str | None]) -> None:
    """Any text, in any language: no crash, hits where the text is."""
    spec, title, body, language = case
    matcher = Matcher(compile_index([load(spec)], languages=("en", "de", "fr")))
    article = ArticleText("a", title, body, language)
    check_matches(matcher.match(article), article)
    assert len(matcher.explain(article)) == len(spec["rules"])


MATCHER_PROPERTIES = [
    Property(
        "matcher",
        "random watchlists, arbitrary text",
        st.tuples(watchlist_specs(), TEXT, RAW_TEXT, st.sampled_from(["en", "de", "xx", None])),
        check_articles,
    ),
    Property(
        "matcher",
        "case, spacing and punctuation",
        st.tuples(
            watchlist_specs(case_ok=False, regex_ok=False),
            WORDS,
            st.lists(SEPARATORS, min_size=1, max_size=6),
            st.booleans(),
        ),
        check_invariance,
    ),
    Property(
        "matcher",
        "none: blocks",
        st.tuples(watchlist_specs(), WORDS, st.integers(0, 10)),
        check_none_blocks,
    ),
]

PROPERTIES = [
    *FEED_PROPERTIES,
    *TEXT_PROPERTIES,
    *URL_PROPERTIES,
    *WATCHLIST_PROPERTIES,
    *MATCHER_PROPERTIES,
]


# Inputs the fuzzing found, each the smallest of its kind: kept so that they run
# every time, not only when the search happens upon them again.
JSON_FEED = b'{"version": "https://jsonfeed.org/version/1", '
FOUND_FEEDS = {
    "bad IPv6 link": b"<rss><channel><item><link>http://[::1</link></item></channel></rss>",
    "huge char ref": b"<rss><channel><item><title>&#2200000000;</title></item></channel></rss>",
    "past U+10FFFF": b"<rss><channel><item><title>&#2000000;</title></item></channel></rss>",
    "surrogate char ref": b"<rss><channel><item><title>&#xD800;</title></item></channel></rss>",
    "5000-digit JSON number": JSON_FEED + b'"items": [' + b"1" * 5000 + b"]}",
    "date before year 1 in UTC": JSON_FEED
    + b'"items": [{"id": "a", "date_published": "0001-01-01T00:00:00+01:00"}]}',
    "date after 9999 in UTC": JSON_FEED
    + b'"items": [{"id": "a", "date_published": "9999-12-31T23:00:00-05:00"}]}',
    "Atom date of month 0, year 1": b'<feed xmlns="http://www.w3.org/2005/Atom"><entry>'
    b"<updated>0001-00-00T00:00:00Z</updated></entry></feed>",
    "language longer once lower-cased": JSON_FEED
    + b'"language": "'
    + "\u0130".encode() * 35
    + b'", "items": []}',
}
FOUND_WATCHLISTS = {
    "control character": b"\x1f",
    "a float that is none": b"!!float rules:",
    "an empty float": b"!!float ",
    "empty": b"",
    "deep nesting": b"rules:\n  r: {all: " + b"[" * 1000 + b"\n",
}
FOUND_TEXT = ["\x7f", "a\r\nb", "\x85", "\x9f"]


@pytest.mark.parametrize("body", FOUND_FEEDS.values(), ids=FOUND_FEEDS)
def test_feeds_the_fuzzing_found(body: bytes) -> None:
    check_parse((body, None))


@pytest.mark.parametrize("raw", FOUND_WATCHLISTS.values(), ids=FOUND_WATCHLISTS)
def test_watchlists_the_fuzzing_found(raw: bytes) -> None:
    check_watchlist_bytes(raw)


@pytest.mark.parametrize("text", FOUND_TEXT, ids=ascii)
def test_text_the_fuzzing_found(text: str) -> None:
    check_clean((text, 10))
    check_html_to_text((f"<p>{text}</p>", 10))


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.mark.parametrize("prop", PROPERTIES, ids=lambda p: f"{p.target}: {p.name}")
def test_property_holds(prop: Property) -> None:
    fuzz_settings(EXAMPLES)(given(prop.strategy)(prop.check))()


def _never_three(number: int) -> None:
    assert number != 3


def test_the_report_counts_examples_and_each_failure_with_its_input() -> None:
    from tests.reliability.fuzzing import run_property

    outcome = run_property(Property("demo", "no 3", st.integers(0, 5), _never_three), 50)
    assert outcome.examples > 0
    assert len(outcome.failures) == 1
    assert "case=3" in outcome.failures[0]


def test_the_fuzzing_scenario_has_a_figure_per_target() -> None:
    from tests.reliability.figures import Scale
    from tests.reliability.fuzzing import fuzz_figures

    figures = fuzz_figures(Scale(runs=1, kills=0), per_run=3)
    hazards = " ".join(figure.hazard for figure in figures)
    assert all(prop.target in hazards for prop in PROPERTIES)
    assert all(figure.area == "parsing" and figure.tries > 0 for figure in figures)
