"""The compiled reader (monitor.near._sketch.Reader) reads what the sketch's Python
path reads from the folded text (monitor.near.sketch._folded_views): the same names
and the same views, bit for bit; and leaves it the texts it cannot read alike. And
the story names and the names' hashes, ranked and sorted in the kernel, are what the
former Python gave.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.near import _sketch
from monitor.near.sketch import (
    _CALENDAR,
    _HASHES,
    _READER,
    MAX_NAMES,
    RANKED_WORDS,
    STORY_NAMES,
    _folded_views,
    _vocabulary,
    _word_hash,
)
from monitor.text.stems import language_code

SAMPLES = [
    "",
    " ",
    "123 4567 0",
    "The Prime Minister Mark Rutte said on Tuesday that 32 people had been hurt in Kursk.",
    "Sales rose by £3.2bn (½ of it abroad) at Æon, Ørsted and Þór; Straße, ª, ²³¹",
    "soft\xadhyphen ÀÉÎÕÜ àéîõü ÿ ß Ð ð × ÷ ¼ ¾ \x00 \x7f \xa0nbsp",
    "WORDS IN CAPITALS AND 2024 NUMBERS 7 8 9 " * 20,
    "Monday January Jan May may MAY",
    "It’s “quoted” – and — dashed… €5, Zürich‐Genève, ﬁnal ﬂight, a\u200bb, soft\u00adhyphen",
    "Café\u0301 nai\u0308ve ２０２４ ＡＢＣ ① ⅻ Ⅻ ² İstanbul ǅemal ﬃ",
]
# Every Latin-1 character, weighted towards letters, digits and spaces.
_LATIN1_TEXT = st.text(
    st.one_of(
        st.characters(max_codepoint=255),
        st.sampled_from("aZ09 ÉéßÆ£½"),
    ),
    max_size=300,
)
_LANGUAGES = st.sampled_from([None, "en", "de", "fr", "es", "xx"])


def assert_reads_alike(text: str, language: str | None = "en") -> None:
    vocabulary = _vocabulary(language_code(language) or "en")
    read = _READER.views(text, vocabulary._codes, vocabulary._code)
    assert read is not None
    names, views = read
    expected_names, expected = _folded_views(text, vocabulary)
    assert names == expected_names
    assert all(sys.intern(name) is name for name in names)
    assert views[0].tolist() == expected[0].tolist()
    assert views[1].tolist() == expected[1].tolist()
    assert views[2:] == expected[2:]


@pytest.mark.parametrize("text", SAMPLES)
def test_reader_reads_samples_as_folded(text: str) -> None:
    assert_reads_alike(text)


@settings(max_examples=400, deadline=None)
@given(text=_LATIN1_TEXT, language=_LANGUAGES)
def test_reader_reads_any_latin1_text_as_folded(text: str, language: str | None) -> None:
    if "µ" in text:  # folds to a Greek letter: left to the Python path
        assert _READER.views(text, {}, _word_hash) is None
    else:
        assert_reads_alike(text, language)


@settings(max_examples=400, deadline=None)
@given(text=st.text(max_size=300), language=_LANGUAGES)
def test_reader_reads_any_text_it_takes_as_folded(text: str, language: str | None) -> None:
    vocabulary = _vocabulary(language_code(language) or "en")
    if _READER.views(text, vocabulary._codes, vocabulary._code) is not None:
        assert_reads_alike(text, language)


@pytest.mark.parametrize(
    "text", ["Москва", "µm", "Σ final sigma", "東京", "⑽ (folds to four)", "Ωmega"]
)
def test_reader_leaves_text_folding_past_latin1_to_the_python_path(text: str) -> None:
    assert _READER.views(text, {}, _word_hash) is None


def reference_story_names(
    names: set[str], rank: Mapping[str, int]
) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """What monitor.near.sketch._story_names computed in Python."""
    names = names - {name for name in names if name.isdigit()} - _CALENDAR
    ranked = sorted([(-rank.get(name, RANKED_WORDS), name) for name in names])[:STORY_NAMES]
    weights = tuple(1 + 2 * -minus / RANKED_WORDS for minus, _ in ranked)
    return tuple(name for _, name in ranked), weights


_NAMES = st.sets(
    st.one_of(
        st.sampled_from([*sorted(_CALENDAR), "the", "london", "rutte", "32", "٣", "ⅻ", "i̇stanbul"]),
        st.text(min_size=1, max_size=8),
        st.text("abc123", min_size=1, max_size=3),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(names=_NAMES, language=_LANGUAGES)
def test_story_names_are_the_python_ranking(names: set[str], language: str | None) -> None:
    rank = _vocabulary(language_code(language) or "en").rank
    assert _sketch.story_names(names, rank, _CALENDAR) == reference_story_names(names, rank)
    # Any mapping, not only a dict.
    known = {name: rank[name] for name in names if name in rank}
    assert _sketch.story_names(names, _Mapping(known), _CALENDAR) == reference_story_names(
        names, known
    )


class _Mapping(Mapping[str, int]):
    def __init__(self, values: dict[str, int]) -> None:
        self._values = values

    def __getitem__(self, key: str) -> int:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@settings(max_examples=200, deadline=None)
@given(names=_NAMES)
def test_name_hashes_are_the_python_ones(names: set[str]) -> None:
    expected = tuple(sorted({_word_hash(name) & 0xFFFF for name in names}))[:MAX_NAMES]
    assert _sketch.name_hashes(names, _HASHES, _word_hash) == expected
    assert _sketch.name_hashes(names, {}, _word_hash) == expected  # none cached
