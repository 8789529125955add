"""Sentence splitting: offsets that point back into the article, abbreviations kept whole."""

from __future__ import annotations

from monitor.meaning.sentences import MAX_WORDS, split_article, split_body


def test_every_sentence_points_back_into_its_field() -> None:
    title, body = "Fed lifts rates", 'Mr. Smith spoke. "It is done," he said!\n2024 was hard? Yes.'
    sentences = split_article(title, body)
    assert [s.text for s in sentences] == [
        "Fed lifts rates",
        "Mr. Smith spoke.",
        '"It is done," he said!',
        "2024 was hard?",
        "Yes.",
    ]
    for s in sentences:
        assert (title if s.field == "title" else body)[s.start : s.end] == s.text


def test_abbreviations_and_initials_do_not_end_a_sentence() -> None:
    body = "The U.S. Army and Dr. Jones met J. K. Rowling on Jan. 5. Then they left."
    assert [s.text for s in split_body(body)] == [
        "The U.S. Army and Dr. Jones met J. K. Rowling on Jan. 5.",
        "Then they left.",
    ]


def test_a_decimal_or_a_lower_case_word_after_a_stop_does_not_split() -> None:
    assert len(split_body("Prices rose 3.5 per cent. in real terms they fell.")) == 1


def test_a_very_long_sentence_is_cut_into_pieces() -> None:
    body = " ".join(f"w{i}" for i in range(MAX_WORDS * 2 + 5)) + "."
    pieces = split_body(body)
    assert [len(p.text.split()) for p in pieces] == [MAX_WORDS, MAX_WORDS, 5]
    assert all(body[p.start : p.end] == p.text for p in pieces)


def test_blank_title_and_body_give_no_sentences() -> None:
    assert split_article("  ", "\n\n") == ()
