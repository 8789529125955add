"""One article read once: where each compiled pattern occurs in it.

The title and the body are folded (monitor.match.fold) and split into words,
with a barrier word between them so that no phrase runs from the title into the
body. The automaton reads two streams at once: the words as written and their
stems. A phrase of stems or of written words is found whole; any other term is
found by its anchor word and checked around it (side by side, or within its
NEAR/n window). Places are word positions; only the articles that match have
them turned back into offsets of the stored title and body.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from itertools import product
from typing import Any

from monitor.match.fold import Folded, fold
from monitor.match.index import STEM_SEP, CompiledPattern, CompiledWord, Index
from monitor.match.stems import language_code
from monitor.types import ArticleText, Hit

Occurrence = tuple[int, ...]  # the word positions of one occurrence, in order
BARRIER = "\x1f"
MAX_CANDIDATES = 6  # per word of a NEAR term: the nearest few are enough
_WORD = re.compile(r"\S+")


class ScannedArticle:
    def __init__(self, article: ArticleText, index: Index) -> None:
        self.article, self.index = article, index
        self.folded = (fold(article.title), fold(article.body))
        title, body = self.folded[0].text.split(), self.folded[1].text.split()
        self.title_words = len(title)
        self.words = [*title, BARRIER, *body]
        code = language_code(article.language)
        self.language = code if code in index.stemmers else index.default_language
        self.stems = index.stemmers[self.language].many(self.words)  # the barrier stays itself
        self.found: dict[int, set[Occurrence]] = {}
        self._regex_hits: dict[int, list[Hit]] = {}
        # (ref id, fields) → the ref's terms found there; filled by the rules' decisions
        self.ref_hits: dict[tuple[int, tuple[str, ...]], Any] = {}
        self._cased: list[str] | None = None
        self._words_here: set[str] | None = None
        self._stems_here: set[str] | None = None

    def scan(self) -> ScannedArticle:
        automaton = self.index.automaton
        if automaton is None:
            return self
        written = f" {' '.join(self.words)} "
        text = f"{written}{STEM_SEP}{STEM_SEP.join(self.stems)}{STEM_SEP}"
        stems_at = len(written)
        patterns, language, found = self.index.patterns, self.language, self.found
        for end, (length, in_stems, entries) in automaton.iter(text):
            start = end - length + 2  # the key starts with the separator before the word
            # A word's position is the number of separators before it, less the first.
            if in_stems:
                position = text.count(STEM_SEP, stems_at, start) - 1
            else:
                position = text.count(" ", 0, start) - 1
            for pid, languages in entries:
                if languages is not None and language not in languages:
                    continue
                compiled = patterns[pid]
                if compiled.plain:  # the usual case, kept inline: a name found whole
                    occurrence: Occurrence | None = tuple(
                        range(position, position + len(compiled.words))
                    )
                else:
                    occurrence = self._around(compiled, position)
                if occurrence is not None:
                    found.setdefault(pid, set()).add(occurrence)
        return self

    def occurrences(self, pid: int) -> set[Occurrence]:
        """Where pattern ``pid`` occurs; regular expressions run only when first asked."""
        compiled = self.index.patterns[pid]
        if compiled.regex is not None and pid not in self._regex_hits:
            self._regex_hits[pid] = [
                (name, m.start(), m.end())
                for name, text in (("title", self.article.title), ("body", self.article.body))
                for m in compiled.regex.finditer(text)
                if m.end() > m.start()
            ]
            positions = {self._position(hit) for hit in self._regex_hits[pid]}
            if positions:
                self.found[pid] = {(p,) for p in positions}
        return self.found.get(pid, set())

    def field(self, position: int) -> str:
        return "title" if position < self.title_words else "body"

    def places(self, occurrence: Occurrence) -> list[Hit]:
        """Word positions → (field, start, end) offsets in the stored title or body."""
        return [self._place(position) for position in occurrence]

    # Checking a term around what the automaton found ---------------------------

    def _around(self, compiled: CompiledPattern, at: int) -> Occurrence | None:
        words = compiled.words
        if compiled.whole:
            span = tuple(range(at, at + len(words)))
            cased = all(self._case_ok(w, p) for w, p in zip(words, span, strict=True))
            return span if cased else None
        anchor = compiled.anchor
        stems, written = compiled.needs[self.language]
        if not (self._stem_set() >= stems and self._word_set() >= written):
            return None  # the usual case for a common anchor: the other words are absent
        if not self._is(words[anchor], at):
            return None
        if compiled.pattern.near is None:
            span = tuple(range(at - anchor, at - anchor + len(words)))
            ok = all(self._is(w, p) for w, p in zip(words, span, strict=True))
            return span if ok else None
        return self._near(words, anchor, at, compiled.pattern.near)

    def _near(
        self, words: tuple[CompiledWord, ...], anchor: int, at: int, near: int
    ) -> Occurrence | None:
        reach = near + len(words) - 1
        in_title = at < self.title_words
        choices = []
        for i, word in enumerate(words):
            if i == anchor:
                continue
            found = [
                p
                for p in self._places_of(word, at, reach)
                if p != at and (p < self.title_words) == in_title and self._case_ok(word, p)
            ]
            if not found:
                return None
            choices.append(sorted(found, key=lambda p: abs(p - at))[:MAX_CANDIDATES])
        if len(choices) == 1:  # two words: the nearest other one is the best
            return tuple(sorted((at, choices[0][0])))
        best: tuple[int, tuple[int, ...]] | None = None
        for pick in product(*choices):
            positions = (at, *pick)
            if len(set(positions)) != len(positions):
                continue
            width = max(positions) - min(positions)
            if width - (len(words) - 1) <= near and (best is None or width < best[0]):
                best = (width, tuple(sorted(positions)))
        return None if best is None else best[1]

    def _stem_set(self) -> set[str]:
        if self._stems_here is None:
            self._stems_here = set(self.stems)
        return self._stems_here

    def _word_set(self) -> set[str]:
        if self._words_here is None:
            self._words_here = set(self.words)
        return self._words_here

    def _places_of(self, word: CompiledWord, at: int, reach: int) -> list[int]:
        """Where ``word`` stands within ``reach`` of ``at`` (its case still to check)."""
        first, last = max(0, at - reach), min(len(self.words), at + reach + 1)
        kind = word.word.kind
        if kind == "stem":
            stem, stems = word.stems[self.language], self.stems
            return [p for p in range(first, last) if stems[p] == stem]
        words, text = self.words, word.lower
        if kind == "prefix":
            return [p for p in range(first, last) if words[p].startswith(text)]
        return [p for p in range(first, last) if words[p] == text]

    def _is(self, compiled: CompiledWord, position: int) -> bool:
        if not 0 <= position < len(self.words):
            return False
        word, kind = self.words[position], compiled.word.kind
        if kind == "stem":
            ok = self.stems[position] == compiled.stems[self.language]
        elif kind == "prefix":
            ok = word.startswith(compiled.lower) and word != BARRIER
        else:
            ok = word == compiled.lower
        return ok and self._case_ok(compiled, position)

    def _case_ok(self, compiled: CompiledWord, position: int) -> bool:
        if not compiled.match_case:
            return True
        if self._cased is None:
            title = fold(self.article.title, keep_case=True).text.split()
            self._cased = [*title, BARRIER, *fold(self.article.body, keep_case=True).text.split()]
        if len(self._cased) != len(self.words):  # a fold that split words differently
            return False
        word = self._cased[position]
        expected = compiled.word.text
        return word.startswith(expected) if compiled.word.kind == "prefix" else word == expected

    # Positions and offsets -------------------------------------------------------

    def _place(self, position: int) -> Hit:
        if position < self.title_words:
            name, folded, index = "title", self.folded[0], position
        else:
            name, folded, index = "body", self.folded[1], position - self.title_words - 1
        start, end = self._spans(folded)[index]
        return name, folded.original(start), folded.original(end)

    def _spans(self, folded: Folded) -> list[tuple[int, int]]:
        cache = self.__dict__.setdefault("_span_cache", {})
        if id(folded) not in cache:
            cache[id(folded)] = [m.span() for m in _WORD.finditer(folded.text)]
        spans: list[tuple[int, int]] = cache[id(folded)]
        return spans

    def _position(self, hit: Hit) -> int:
        """The word position where a regular expression's hit starts."""
        name, start, _ = hit
        folded = self.folded[0] if name == "title" else self.folded[1]
        spans = self._spans(folded)
        starts = [folded.original(s) for s, _ in spans]
        index = max(0, bisect_left(starts, start + 1) - 1)
        return index if name == "title" else index + self.title_words + 1
