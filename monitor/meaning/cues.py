"""Cues that a sentence reports something as not happening: denied, ruled out, negated.

An embedding places "the company denied it would cut jobs" next to "the company cut
jobs": it encodes the topic, not whether it happened. These general English cues
catch the commonest ways a report says it did not: a denial or dismissal anywhere in
the sentence, and a plain negation ("not", "n't", "never", "no sign of") close before
the words that matched. No cue names a concept; they are the same for every watchlist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# How many words before the matched words a plain negation may stand ("had not been
# abducted", "not, as rumoured, by a cyberattack"): a short clause, chosen by reading.
NEGATION_WINDOW = 5

_DENIAL = re.compile(
    r"\b(?:den(?:y|ied|ies|ying|ial)"
    r"|rul(?:e|es|ed|ing) out"
    r"|no (?:plans?|intention|risk|sign|evidence|threat|danger) (?:to|of)"
    r"|(?:reject|dismiss)(?:ed|es|s|ing)? (?:\S+ ){0,3}(?:reports?|claims?|talk|suggestions?|"
    r"speculation|rumou?rs?|allegations?)"
    r"|play(?:ed|s|ing)? down|downplay(?:ed|s|ing)?"
    r"|false (?:reports?|claims?|alarm)|untrue|unfounded|overblown|hoax"
    r"|avert(?:ed|s|ing)?|avoid(?:ed|s|ing)?|call(?:ed|s|ing)? off)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(?:not|never|no longer)\b|n't\b", re.IGNORECASE)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Cue:
    """A cue found in a sentence: its words, and where they start in the sentence."""

    words: str
    start: int


def denial_cue(sentence: str, focus: tuple[int, int] | None = None) -> Cue | None:
    """The first cue that the sentence reports its event as not happening, if any.

    ``focus``: the offsets, in ``sentence``, of the words that matched (a listed term).
    A denial counts anywhere in the sentence; a plain negation counts within
    NEGATION_WINDOW words before the focus, or anywhere when there is no focus (a match
    by meaning is the whole sentence).
    """
    denial = _DENIAL.search(sentence)
    if denial is not None:
        return Cue(denial.group(), denial.start())
    for negation in _NEGATION.finditer(sentence):
        if focus is None or (
            negation.start() < focus[1]
            and _words_between(sentence, negation.end(), focus[0]) < NEGATION_WINDOW
        ):
            return Cue(negation.group(), negation.start())
    return None


def _words_between(text: str, start: int, end: int) -> int:
    return len(_WORD.findall(text[start:end])) if start <= end else 0
