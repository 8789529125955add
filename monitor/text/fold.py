"""Text folded for matching: case, diacritics and punctuation gone, offsets kept.

Every character folds to itself lower-cased without its accents, and every
character that is not a letter or digit folds to a space, so "North-Korean",
"north korean" and "NORTH KOREAN" read the same and a word always sits between
spaces. For ASCII text (most English news) the fold is one ``str.translate``
and an offset in the folded text is the same offset in the original. Where a
character folds to more or fewer than one (``ß`` to ``ss``, a lone combining
accent to nothing) an offset table maps back, so highlights land on the
original text whatever happened.
"""

from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_ASCII_WORD = set(string.ascii_letters + string.digits)
_ASCII = [chr(i) for i in range(128)]
# bytes.translate is many times faster than str.translate: the ASCII fast path uses it.
_BYTES = {
    keep_case: bytes(ord(c if keep_case else c.lower()) if c in _ASCII_WORD else 32 for c in _ASCII)
    + bytes(128)
    for keep_case in (False, True)
}
# For other text: one table per case mode, grown with each character met, and
# started again past TABLE_LIMIT characters (Chinese news uses about 5,000; a feed
# holding every code point would otherwise cost 100 MB).
_TABLES: dict[bool, dict[int, str]] = {
    keep_case: {ord(c): chr(b) for c, b in zip(_ASCII, _BYTES[keep_case], strict=False)}
    for keep_case in (False, True)
}
_ODD: dict[bool, set[str]] = {False: set(), True: set()}  # folds to other than one character
TABLE_LIMIT = 20_000


@dataclass(frozen=True, slots=True)
class Folded:
    """``text`` folded; ``origin[i]`` is the original offset of folded offset ``i``."""

    text: str
    origin: tuple[int, ...] | None = None  # None: offsets are the same

    def original(self, offset: int) -> int:
        if self.origin is None:
            return offset
        return self.origin[min(offset, len(self.origin) - 1)]


def fold(text: str, keep_case: bool = False) -> Folded:
    if text.isascii():
        return Folded(text.encode("ascii").translate(_BYTES[keep_case]).decode("ascii"))
    table, odd = _TABLES[keep_case], _ODD[keep_case]
    if len(table) > TABLE_LIMIT:
        for code in [code for code in table if code >= len(_ASCII)]:
            del table[code]
        odd.clear()
    for ch in set(text):
        if ord(ch) not in table:
            table[ord(ch)] = folded_char = _fold_char(ch, keep_case)
            if len(folded_char) != 1:
                odd.add(ch)
    folded = text.translate(table)
    if odd.isdisjoint(text):
        return Folded(folded)
    origin = [i for i, ch in enumerate(text) for _ in table[ord(ch)]]
    origin.append(len(text))
    return Folded(folded, tuple(origin))


def fold_words(text: str, keep_case: bool = False) -> list[str]:
    """The words of ``text`` as matching sees them."""
    return fold(text, keep_case).text.split()


@lru_cache(maxsize=65_536)
def _fold_char(ch: str, keep_case: bool) -> str:
    if ch == "\u200b":  # a zero-width space still separates words
        return " "
    if unicodedata.category(ch) in ("Cf", "Mn", "Me"):  # soft hyphens, joiners, lone accents
        return ""
    decomposed = unicodedata.normalize("NFKD", ch if keep_case else ch.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c if c.isalnum() else " " for c in bare)
