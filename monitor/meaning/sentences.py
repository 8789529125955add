"""An article cut into sentences, each with its offsets into the title or the body.

The title is one sentence. A body breaks after ``.``, ``!`` or ``?`` (and any closing
quote or bracket) when whitespace and then a capital, a quote or a digit follow, and at
every line break; a known abbreviation ("Mr.", "U.S.", "Dr.") or a lone initial does not
end a sentence. A sentence longer than MAX_WORDS is cut into pieces of that many words,
since the model reads a long sentence as a blur of its topics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Field = Literal["title", "body"]

# The model (all-MiniLM-L6-v2) was trained on sentences of a few dozen words; past
# about 60 a report is one clause among many and its similarity is diluted.
MAX_WORDS = 60

# Words that end with a full stop without ending the sentence (lower case, no dot).
_ABBREVIATED = """mr mrs ms dr prof st sr jr gen col lt sgt capt gov sen rep rev hon
    inc ltd co corp plc no nos vs etc approx est fig dept univ
    jan feb mar apr jun jul aug sep sept oct nov dec"""
ABBREVIATIONS = frozenset(_ABBREVIATED.split())

_END = re.compile(r"""[.!?]+["'”’)\]]*(?=\s+["'“‘(\[0-9A-Z])|\n+""")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of an article: ``text`` is ``title[start:end]`` or ``body[start:end]``."""

    field: Field
    start: int
    end: int
    text: str


def split_article(title: str, body: str) -> tuple[Sentence, ...]:
    """The title (when not blank) as one sentence, then the body's sentences, in order."""
    head = _trimmed("title", title, 0, len(title))
    return (*head, *split_body(body))


def split_body(body: str) -> tuple[Sentence, ...]:
    out: list[Sentence] = []
    start = 0
    for m in _END.finditer(body):
        if m.group().startswith("\n") or not _is_abbreviation(body, m.start()):
            out += _pieces(body, start, m.end())
            start = m.end()
    out += _pieces(body, start, len(body))
    return tuple(out)


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the word before the stop at ``dot`` is an abbreviation or an initial."""
    word = re.search(r"([\w.]+)$", text[:dot])
    if word is None or text[dot] != ".":
        return False
    token = word.group(1)
    return token.lower() in ABBREVIATIONS or bool(re.fullmatch(r"(?:[A-Za-z]\.)*[A-Za-z]", token))


def _pieces(text: str, start: int, end: int) -> list[Sentence]:
    """The span as one sentence, or cut into MAX_WORDS-word pieces when longer."""
    words = list(_WORD.finditer(text, start, end))
    out: list[Sentence] = []
    for i in range(0, len(words), MAX_WORDS):
        chunk = words[i : i + MAX_WORDS]
        out += _trimmed("body", text, chunk[0].start(), chunk[-1].end())
    return out


def _trimmed(field: Field, text: str, start: int, end: int) -> list[Sentence]:
    span = text[start:end]
    left = len(span) - len(span.lstrip())
    stripped = span.strip()
    if not stripped:
        return []
    return [Sentence(field, start + left, start + left + len(stripped), stripped)]
