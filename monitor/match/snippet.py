"""A short passage around the hits, with their places, for alerts and explanations."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.types import ArticleText, Hit

BEFORE, AFTER = 80, 220


def snippet(article: ArticleText, hits: Sequence[Hit]) -> tuple[str, list[tuple[int, int]]]:
    """The passage (one line) and the hits inside it, as offsets into the passage.

    The passage is taken from the body around its first hit, or is the title when
    only the title matched.
    """
    body_hits = sorted([(s, e) for f, s, e in hits if f == "body"])
    if not body_hits:
        title_hits = sorted([(s, e) for f, s, e in hits if f == "title"])
        return _one_line(article.title), _merged(title_hits)
    text = article.body
    first = body_hits[0][0]
    start = _word_edge(text, max(0, first - BEFORE), backwards=True)
    end = _word_edge(text, min(len(text), first + AFTER), backwards=False)
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    shift = len(prefix) - start
    inside = [(s + shift, e + shift) for s, e in body_hits if s >= start and e <= end]
    return prefix + _one_line(text[start:end]) + suffix, _merged(inside)


def _word_edge(text: str, at: int, backwards: bool) -> int:
    if at <= 0 or at >= len(text):
        return at
    found = text.rfind(" ", 0, at) + 1 if backwards else text.find(" ", at)
    return found if found > 0 else at


def _one_line(text: str) -> str:
    # Same length, so offsets stay valid.
    return text.replace("\n", " ").replace("\r", " ").replace("\t", " ")


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
