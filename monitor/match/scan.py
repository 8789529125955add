"""One article read once: where each compiled pattern occurs in it.

The title and the body are folded (monitor.text.fold) and split into words,
with a barrier word between them so that no phrase runs from the title into the
body. Each word is looked up once (monitor.match._scan, compiled): a word that
anchors terms wakes them, and each is checked around it: side by side, or within
its NEAR/n window, the nearest few places of each other word tried. Places are
word positions; only the articles that match have them turned back into offsets
of the stored title and body.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable

from monitor.core.types import ArticleText, Hit
from monitor.match._scan import BARRIER, places
from monitor.match.index import Index
from monitor.text.stems import language_code

__all__ = ["BARRIER", "Occurrence", "ScannedArticle"]

Occurrence = tuple[int, ...]  # the word positions of one occurrence, in order


class ScannedArticle:
    def __init__(self, article: ArticleText, index: Index) -> None:
        self.article, self.index = article, index
        code = language_code(article.language)
        self.language = code if code in index.stemmers else index.default_language
        self.title_words = 0
        self.found: dict[int, set[Occurrence]] = {}
        self.offsets: array[int] = array("i")  # per word: start, end in its field
        self._starts: dict[str, list[int]] = {}
        self._regex_hits: dict[int, list[Hit]] = {}

    def scan(self) -> ScannedArticle:
        lexicon = self.index.lexicons[self.language]
        article = self.article
        self.title_words, self.found, self.offsets = lexicon.scan(article.title, article.body)
        return self

    def occurrences(self, pid: int) -> set[Occurrence]:
        """Where pattern ``pid`` occurs; regular expressions run only when first asked."""
        compiled = self.index.patterns[pid]
        if compiled.regex is not None and pid not in self._regex_hits:
            self._regex_hits[pid] = [
                (name, start, end)
                for name, text in (("title", self.article.title), ("body", self.article.body))
                for start, end in compiled.regex.spans(text)
            ]
            positions = {self._position(hit) for hit in self._regex_hits[pid]}
            if positions:
                self.found[pid] = {(p,) for p in positions}
        return self.found.get(pid, set())

    def field(self, position: int) -> str:
        return "title" if position < self.title_words else "body"

    def places(self, occurrence: Occurrence) -> list[Hit]:
        """Word positions → (field, start, end) offsets in the stored title or body."""
        title_words, offsets, out = self.title_words, self.offsets, []
        for p in occurrence:
            if 0 <= p < title_words:
                out.append(("title", offsets[2 * p], offsets[2 * p + 1]))
            elif title_words < p and 2 * p + 1 < len(offsets):
                out.append(("body", offsets[2 * p], offsets[2 * p + 1]))
            else:
                out.append(self._place(p))
        return out

    def places_of(self, occurrences: Iterable[Occurrence]) -> tuple[Hit, ...]:
        """``places`` of several occurrences, one after the other."""
        found = places(self.offsets, self.title_words, occurrences)
        if found is None:  # a position outside the words (a regular expression's)
            found = [hit for occurrence in occurrences for hit in self.places(occurrence)]
        return tuple(found)

    # Positions and offsets -------------------------------------------------------

    def _place(self, position: int) -> Hit:
        if position < self.title_words:
            name, index = "title", position
        else:
            name, index = "body", position - self.title_words - 1
        start, end = self._span(name, index)
        return name, start, end

    def _span(self, name: str, index: int) -> tuple[int, int]:
        """Where word ``index`` of field ``name`` starts and ends (a list's indexing)."""
        first = 0 if name == "title" else self.title_words + 1
        count = self.title_words if name == "title" else len(self.offsets) // 2 - first
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("word index out of range")
        at = 2 * (first + index)
        return self.offsets[at], self.offsets[at + 1]

    def _position(self, hit: Hit) -> int:
        """The word position where a regular expression's hit starts."""
        name, start, _ = hit
        starts = self._starts.get(name)
        if starts is None:
            first = 0 if name == "title" else self.title_words + 1
            last = self.title_words if name == "title" else len(self.offsets) // 2
            starts = self._starts[name] = list(self.offsets[2 * first : 2 * last : 2])
        index = max(0, bisect_left(starts, start + 1) - 1)
        return index if name == "title" else index + self.title_words + 1
