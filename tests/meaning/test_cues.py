"""Denial and negation cues: general English, near the words that matched."""

from __future__ import annotations

import pytest

from monitor.meaning.cues import denial_cue


def focus(sentence: str, words: str) -> tuple[int, int]:
    start = sentence.index(words)
    return start, start + len(words)


@pytest.mark.parametrize(
    ("sentence", "cue"),
    [
        ("The company denied it would cut jobs at its call centre.", "denied"),
        ("The prime minister ruled out an early vote.", "ruled out"),
        ("The firm has no plans to close the plant.", "no plans to"),
        ("Officials dismissed social media claims of a quake.", "dismissed social media claims"),
        ("The governor played down talk of a rate rise.", "played down"),
        ("A strike was averted at the last minute.", "averted"),
    ],
)
def test_a_denial_counts_anywhere_in_the_sentence(sentence: str, cue: str) -> None:
    found = denial_cue(sentence, focus(sentence, sentence.split()[-2]))
    assert found is not None and found.words == cue


def test_a_negation_counts_close_before_the_matched_words() -> None:
    s = "The outage was caused by a faulty update and not, as rumoured, by a cyberattack."
    found = denial_cue(s, focus(s, "cyberattack"))
    assert found is not None and found.words == "not"
    s2 = "The jury found the teacher not guilty."
    assert denial_cue(s2, focus(s2, "guilty")) is not None


def test_a_negation_far_from_or_after_the_matched_words_is_not_a_cue() -> None:
    s = "Gunmen kidnapped a journalist, who has not been heard from since."
    assert denial_cue(s, focus(s, "kidnapped")) is None


def test_without_a_focus_any_negation_counts() -> None:
    assert denial_cue("The bank did not raise its rate.") is not None


def test_a_plain_report_has_no_cue() -> None:
    assert denial_cue("Riot police fired tear gas at protesters in the capital.") is None
