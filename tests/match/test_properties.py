"""Properties of matching, checked on many generated articles (hypothesis).

A match does not depend on case, spacing, punctuation or accents; and the fast
path (one compiled scan, terms found through their rarest word) finds exactly what
a plain word-by-word reading finds.
"""

from __future__ import annotations

import itertools
import unicodedata

import pytest
import Stemmer
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.text.fold import fold_words
from tests.match.helpers import actor, article, concept

VOCABULARY = [
    "north", "korea", "korean", "troops", "troop", "deployed", "deployment", "russia",
    "the", "of", "missile", "missiles", "south", "kursk", "sent", "units",
]  # fmt: skip
SEPARATORS = [" ", "  ", "-", ", ", " -- ", "\n", "'s "]
ACCENTS = {"a": "á", "e": "é", "o": "ö", "u": "ü", "i": "î", "n": "ñ", "c": "ç"}
STEM = Stemmer.Stemmer("english").stemWord

words = st.lists(st.sampled_from(VOCABULARY), min_size=0, max_size=12)
terms = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=3)


def stems(text: str) -> list[str]:
    return [STEM(word) for word in fold_words(text)]


def phrase_occurs(term: list[str], text: str) -> bool:
    """Names (actors' aliases) are words as written, side by side."""
    wanted, found = term, fold_words(text)
    n = len(wanted)
    return any(found[i : i + n] == wanted for i in range(len(found) - n + 1))


def near_occurs(term: list[str], text: str, near: int) -> bool:
    wanted, found = [STEM(w) for w in term], stems(text)
    places = [[i for i, s in enumerate(found) if s == w] for w in wanted]
    for pick in itertools.product(*places):
        if len(set(pick)) == len(pick) and max(pick) - min(pick) - (len(pick) - 1) <= near:
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(term=terms, body=words, seps=st.lists(st.sampled_from(SEPARATORS), min_size=12))
def test_an_alias_is_found_exactly_where_its_words_stand_side_by_side(
    term: list[str], body: list[str], seps: list[str]
) -> None:
    text = "".join(w + sep for w, sep in zip(body, seps, strict=False))
    expected = phrase_occurs(term, text)
    assert bool(actor(" ".join(term)).match(article(text))) is expected


@settings(max_examples=300, deadline=None)
@given(term=terms, body=words, near=st.integers(0, 4))
def test_a_near_term_is_found_exactly_when_its_words_are_close_enough(
    term: list[str], body: list[str], near: int
) -> None:
    text = " ".join(body)
    expected = near_occurs(term, text, near)
    assert bool(concept(f"{' '.join(term)} NEAR/{near}").match(article(text))) is expected


def _transformed(text: str, data: st.DataObject) -> str:
    out = []
    for ch in text:
        if ch == " ":
            out.append(data.draw(st.sampled_from([" ", "  ", " , ", " - ", "\t", " (", ") "])))
        elif ch.isalpha():
            ch = ch.upper() if data.draw(st.booleans()) else ch
            if data.draw(st.booleans()) and ch.lower() in ACCENTS:
                accented = ACCENTS[ch.lower()]
                ch = accented.upper() if ch.isupper() else accented
                if data.draw(st.booleans()):  # decomposed: a letter and a combining accent
                    ch = unicodedata.normalize("NFD", ch)
            out.append(ch)
        else:
            out.append(ch)
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(term=terms, body=words, data=st.data())
def test_matching_ignores_case_spacing_punctuation_and_accents(
    term: list[str], body: list[str], data: st.DataObject
) -> None:
    text = " ".join(body)
    rules = concept(" ".join(term))
    plain = {m.rule for m in rules.match(article(text))}
    assert {m.rule for m in rules.match(article(_transformed(text, data)))} == plain


def test_folding_keeps_no_more_characters_than_its_limit_and_folds_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A hostile feed may hold every code point: the folding tables must not keep them
    all, and a text folds the same after they were started again."""
    from monitor.text import fold as folding

    monkeypatch.setattr(folding, "TABLE_LIMIT", 500)
    text = "Ærøskøbing — Straße, ﬁnal ½ İstanbul"
    before = folding.fold(text, keep_case=True)
    for start in range(0x4E00, 0x4E00 + 3000, 100):  # 3,000 Chinese characters
        folding.fold("".join(map(chr, range(start, start + 100))))
        folding.fold("".join(map(chr, range(start, start + 100))), keep_case=True)
    assert all(len(table) <= 128 + 500 + 100 for table in folding._TABLES.values())
    assert folding.fold(text, keep_case=True) == before


@settings(max_examples=150, deadline=None)
@given(
    name=st.lists(st.sampled_from(VOCABULARY), min_size=2, max_size=5),
    cut=st.tuples(st.integers(0, 4), st.integers(1, 4)),
    before=words,
    after=words,
)
def test_an_exclusion_inside_an_alias_never_cancels_the_alias(
    name: list[str], cut: tuple[int, int], before: list[str], after: list[str]
) -> None:
    """The longer name wins: "Republic of Korea" excluded, "Democratic People's
    Republic of Korea" still counts, wherever it stands and whatever is around it."""
    start = min(cut[0], len(name) - 1)
    part = name[start : start + min(cut[1], len(name) - 1)]  # a proper part of the name
    names = actor(" ".join(name), part[-1], exclude=(" ".join(part),))
    text = " ".join([*before, ".", *name, ".", *after])
    assert names.match(article(text))
