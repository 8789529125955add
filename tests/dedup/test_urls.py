"""canonical_url: one spelling per page, so the same article is recognised in every feed."""

from __future__ import annotations

import random
import string
from urllib.parse import quote, urlencode

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from monitor.dedup.urls import TRACKING, canonical_url

CASES = [
    # tracking parameters go, the others stay
    ("https://example.com/a?utm_source=rss&utm_medium=feed&id=7", "https://example.com/a?id=7"),
    ("https://example.com/a?UTM_Campaign=x", "https://example.com/a"),
    ("https://example.com/a?fbclid=IwAR0abc", "https://example.com/a"),
    ("https://example.com/a?gclid=Cj0&page=2", "https://example.com/a?page=2"),
    # fragments go
    ("https://example.com/a#comments", "https://example.com/a"),
    ("https://example.com/a?utm_source=x#top", "https://example.com/a"),
    # host lower-cased (path case is meaningful and kept), trailing dot dropped
    ("HTTPS://News.EXAMPLE.com/Story", "https://news.example.com/Story"),
    ("https://example.com./a", "https://example.com/a"),
    # default ports dropped, others kept
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("https://example.com:8080/a", "https://example.com:8080/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    # query sorted, empty path is "/"
    ("https://example.com/a?b=2&a=1&c=3", "https://example.com/a?a=1&b=2&c=3"),
    ("https://example.com", "https://example.com/"),
    # IPv6 literal
    ("https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"),
    # IDN and percent-encoding: one spelling whatever the input form
    ("https://bücher.example/straße", "https://xn--bcher-kva.example/stra%C3%9Fe"),
    ("https://xn--bcher-kva.example/stra%C3%9Fe", "https://xn--bcher-kva.example/stra%C3%9Fe"),
    ("https://example.com/caf%c3%a9", "https://example.com/caf%C3%A9"),
    ("https://example.com/café", "https://example.com/caf%C3%A9"),
    ("https://example.com/?q=caf%C3%A9", "https://example.com/?q=caf%C3%A9"),
    ("https://example.com/?q=café", "https://example.com/?q=caf%C3%A9"),
    ("  https://example.com/a  ", "https://example.com/a"),
]

NOT_HTTP = [
    "ftp://example.com/feed",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "mailto:news@example.com",
    "data:text/html,<p>x</p>",
    "//example.com/scheme-relative",
    "/relative/path",
    "example.com/no-scheme",
    "",
    "   ",
    "not a url at all",
    "http://",
    "https://",
    "http://example.com:99999/",
    "http://example.com:port/",
    "https://[::1/",
]


@pytest.mark.parametrize(("url", "expected"), CASES)
def test_canonical_form(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize("url", NOT_HTTP)
def test_non_http_and_garbage_give_none(url: str) -> None:
    assert canonical_url(url) is None


@pytest.mark.parametrize(
    "url", ["http://.", "http://.../x", "https://\\.com/", "http://a.\\b/", "http://a\\%"]
)
def test_host_that_vanishes_gives_none(url: str) -> None:
    # Dots only, or a backslash where browsers (and w3lib) end the host.
    assert canonical_url(url) is None


def test_distinct_non_utf8_queries_stay_distinct() -> None:
    assert canonical_url("https://example.com/?q=%E9") != canonical_url(
        "https://example.com/?q=%E8"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # Latin-1 escapes kept as sent, hex upper-cased, pairs sorted raw
        ("https://example.com/?q=%e9&a=%FC", "https://example.com/?a=%FC&q=%E9"),
        # a tracking parameter is recognised by its decoded name
        ("https://example.com/?utm%5Fsource=x&q=%E9", "https://example.com/?q=%E9"),
        # a stray "%" is itself, not half of the escape after it
        ("https://example.com/%%41a", "https://example.com/%25Aa"),
    ],
)
def test_query_and_path_escapes_kept(url: str, expected: str) -> None:
    assert canonical_url(url) == expected
    assert canonical_url(expected) == expected


@pytest.mark.parametrize("url", ["https://example.com/?q=\ud800", "https://example.com/?\udfff=1"])
def test_lone_surrogate_does_not_raise(url: str) -> None:
    result = canonical_url(url)
    assert result is None or canonical_url(result) == result


# --- properties ------------------------------------------------------------

_LABEL = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
_HOSTS = st.lists(_LABEL, min_size=1, max_size=3).map(lambda labels: ".".join([*labels, "com"]))
_SEGMENT = st.text(st.characters(codec="utf-8", exclude_characters="/?#"), max_size=8)
_PATHS = st.lists(_SEGMENT, max_size=4).map(lambda parts: "/" + "/".join(parts))
_KEYS = st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=8).filter(
    lambda k: not TRACKING.match(k)
)
_QUERIES = st.lists(st.tuples(_KEYS, st.text(max_size=8)), max_size=4)
_TRACKERS = st.sampled_from(
    ["utm_source", "utm_medium", "UTM_Campaign", "utm_content", "fbclid", "gclid", "msclkid"]
)


Parts = tuple[str, str, list[tuple[str, str]]]


@st.composite
def urls(draw: st.DrawFn) -> Parts:
    """(scheme://host[:port], path, query pairs) of an http(s) URL."""
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    port = draw(st.none() | st.integers(1, 65535))
    origin = f"{scheme}://{draw(_HOSTS)}" + (f":{port}" if port else "")
    return origin, draw(_PATHS), draw(_QUERIES)


def _join(origin: str, path: str, query: list[tuple[str, str]]) -> str:
    return origin + quote(path, safe="/%") + ("?" + urlencode(query) if query else "")


@given(st.text())
@example("http://[")
@example("http://x:-1/")
@example("https://\x00/")
@example("http://\ufe47")
@example("http://a/%%41a")
def test_never_raises_and_keys_are_fixed_points(text: str) -> None:
    result = canonical_url(text)
    assert result is None or result.startswith(("http://", "https://"))
    assert result is None or canonical_url(result) == result


@given(urls())
def test_idempotent(parts: Parts) -> None:
    origin, path, query = parts
    once = canonical_url(_join(origin, path, query))
    assert once is not None
    assert canonical_url(once) == once


@given(urls(), _TRACKERS, st.text(max_size=10), st.integers(0, 4))
def test_tracking_parameter_never_changes_the_key(
    parts: Parts, tracker: str, value: str, at: int
) -> None:
    origin, path, query = parts
    tracked = [*query[:at], (tracker, value), *query[at:]]
    assert canonical_url(_join(origin, path, tracked)) == canonical_url(_join(origin, path, query))


@given(urls(), st.text(max_size=12))
def test_fragment_never_changes_the_key(parts: Parts, fragment: str) -> None:
    origin, path, query = parts
    url = _join(origin, path, query)
    assert canonical_url(f"{url}#{fragment}") == canonical_url(url)


@given(urls(), st.randoms())
def test_host_case_does_not_matter(parts: Parts, rnd: random.Random) -> None:
    origin, path, query = parts
    flipped = "".join(c.upper() if rnd.random() < 0.5 else c for c in origin)
    assert canonical_url(_join(flipped, path, query)) == canonical_url(_join(origin, path, query))


def test_idn_host_case_does_not_matter() -> None:
    assert canonical_url("https://BÜCHER.Example/x") == canonical_url("https://bücher.example/x")
