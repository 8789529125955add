"""Plain text from feed HTML, dedup normalisation and fingerprints."""

from __future__ import annotations

import hashlib
import time

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from monitor.text.plain import FINGERPRINT_VERSION, clean, fingerprint, html_to_text, normalise

# XML 1.0 forbids these, PostgreSQL refuses NUL: none may reach storage.
XML_INVALID = [
    "\x00",
    "\x01",
    "\x08",
    "\x0b",
    "\x0c",
    "\x1f",
    "\ud800",
    "\udfff",
    "\ufffe",
    "\uffff",
]


def test_html_keeps_paragraph_breaks() -> None:
    assert html_to_text("<p>One</p><p>Two</p>", 100) == "One\n\nTwo"


def test_html_keeps_list_items_apart() -> None:
    assert html_to_text("<ul><li>one</li><li>two</li></ul>", 100) == "one\ntwo"


def test_html_drops_script_style_and_comments() -> None:
    html = "<script>alert('x')</script><style>p{color:red}</style><p>Shown</p><!-- hidden -->"
    assert html_to_text(html, 100) == "Shown"


def test_html_decodes_entities() -> None:
    html = "<p>Caf&eacute; &amp; bar &lt;b&gt; &#8212; &#x2014;&nbsp;end</p>"
    assert html_to_text(html, 100) == "Café & bar <b> — — end"


def test_entities_decoded_in_text_without_tags() -> None:
    assert html_to_text("Fish &amp; chips", 100) == "Fish & chips"


def test_plain_text_is_left_alone() -> None:
    assert (
        html_to_text("Profits rose 5 < 6 > 4, AT&T said", 100)
        == "Profits rose 5 < 6 > 4, AT&T said"
    )


def test_runs_of_blank_lines_fold_to_one() -> None:
    assert html_to_text("first\n\n\n\n  \nsecond", 100) == "first\n\nsecond"


@pytest.mark.parametrize("char", XML_INVALID)
@pytest.mark.parametrize("wrap", ["{}", "<p>{}</p>"])
def test_invalid_characters_are_stripped(char: str, wrap: str) -> None:
    assert html_to_text(wrap.format(f"a{char}b"), 100) == "ab"


def test_numeric_nul_entity_does_not_produce_nul() -> None:
    assert "\x00" not in html_to_text("<p>a&#0;b&#x0;c</p>", 100)


@pytest.mark.parametrize("limit", [0, 1, 5, 20])
def test_limit_is_respected(limit: int) -> None:
    assert len(html_to_text("<p>" + "word " * 100 + "</p>", limit)) <= limit
    assert len(html_to_text("word " * 100, limit)) <= limit


@pytest.mark.parametrize(
    "body",
    [
        "<p>" + "word " * 1_000_000 + "</p>",
        "x" * 5_000_000,
        "<div>" * 1_000_000,
        "<p>" + "&amp;" * 1_000_000,
        "\x00" * 5_000_000 + "<p>tail</p>",
    ],
    ids=["paragraph", "plain", "nested", "entities", "nul"],
)
def test_five_megabytes_is_cut_quickly(body: str) -> None:
    start = time.perf_counter()
    text = html_to_text(body, 10_000)
    assert time.perf_counter() - start < 2.0
    assert len(text) <= 10_000


def test_clean_handles_none_and_empty() -> None:
    assert clean(None, 10) == ""
    assert clean("", 10) == ""


def test_clean_folds_spaces_and_cuts() -> None:
    assert clean("a \t\u00a0 b\x00c", 100) == "a bc"
    assert clean("abcdef", 3) == "abc"


@given(st.text(), st.integers(0, 300))
def test_clean_never_returns_invalid_characters(value: str, limit: int) -> None:
    result = clean(value, limit)
    assert len(result) <= limit
    assert not any(c in result for c in XML_INVALID)


@given(st.text(), st.integers(0, 300))
def test_html_to_text_never_returns_invalid_characters(value: str, limit: int) -> None:
    result = html_to_text(value, limit)
    assert len(result) <= limit
    assert not any(c in result for c in XML_INVALID)


# --- normalise ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Hello, World!", "hello world"),
        ("  HELLO\t\n  world  ", "hello world"),
        ("Crème brûlée", "creme brulee"),
        ("Straße", "strasse"),
        ("«Breaking» — news…", "breaking news"),
        ("ＦＵＬＬ width", "full width"),
        ("state-of-the-art", "state of the art"),
        ("snake_case", "snake case"),
        ("Hello\u00a0world", "hello world"),
    ],
)
def test_normalise_folds_case_accents_punctuation_spacing(left: str, right: str) -> None:
    assert normalise(left) == normalise(right) == right


def test_normalise_keeps_words_apart() -> None:
    assert normalise("the cat sat") != normalise("the cats at")


_NEWS_TEXT = st.text(st.characters(max_codepoint=0x24F) | st.sampled_from("‘’“”—–…«»€\u00a0"))


@given(_NEWS_TEXT)
def test_normalise_is_idempotent_on_news_text(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)


@given(st.text())
@example("℠")
@example("100 ㎒")
def test_normalise_is_idempotent(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)


@given(st.text())
def test_normalise_never_raises(text: str) -> None:
    assert isinstance(normalise(text), str)


# --- fingerprint -------------------------------------------------------------


def test_fingerprint_is_stable_across_releases() -> None:
    # A stored key must keep its value: changing this needs a new FINGERPRINT_VERSION.
    expected = hashlib.blake2b(b"v1\x1ft\x1fhello world", digest_size=16).hexdigest()
    assert FINGERPRINT_VERSION == "v1"
    assert fingerprint("t", "hello world") == f"t:{expected}"


def test_fingerprint_is_deterministic() -> None:
    assert fingerprint("u", "https://example.com/") == fingerprint("u", "https://example.com/")


def test_fingerprint_differs_by_kind() -> None:
    text_key, url_key = fingerprint("t", "same"), fingerprint("u", "same")
    assert text_key.split(":")[1] != url_key.split(":")[1]


def test_fingerprint_parts_do_not_run_together() -> None:
    assert fingerprint("t", "ab", "c") != fingerprint("t", "a", "bc")
