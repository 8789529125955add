"""Watchlist regular expressions, run by RE2 (google-re2): the one module that imports it.

A watchlist's regex runs over text from feeds, so it runs on an engine whose time
is linear in the text whatever the pattern: Python's ``re`` backtracks, and
``(a+)+$`` over 5,000 ``a`` and a ``!`` never returns (it holds the GIL, so no
thread or timer can stop it, nor a signal be served). What RE2 cannot run in
linear time (lookaround, backreferences, possessive quantifiers) it refuses when
the pattern is compiled, so such a pattern is refused when the watchlist loads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import re2  # type: ignore[import-untyped]

# Hits taken per field: scores count a term at most three times, and each further
# search may scan the rest of the text, so more would make the whole quadratic.
MAX_HITS = 100
MAX_TRIES = 10 * MAX_HITS  # matches looked at, empty ones included
# RE2's memory for one compiled pattern (its default, 8 MiB): past it, refused.
MAX_MEMORY = 8 << 20
# RE2 reads UTF-8, which has no lone surrogates; each stands in for itself as one
# U+FFFD, so spans still count the text's own characters. (Stored text has none:
# this is for text that reaches the matcher some other way, such as a replay.)
_SURROGATES = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True, eq=False)
class Regex:
    """A compiled pattern; ``spans`` of a text are in characters, as ``str`` counts them."""

    pattern: str
    match_case: bool
    _compiled: Any

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """Where the pattern matches ``text``, empty matches left out, at most MAX_HITS."""
        if not text.isascii():
            text = _SURROGATES.sub("\ufffd", text)
        tried = islice(self._compiled.finditer(text), MAX_TRIES)
        yield from islice(((s, e) for s, e in (m.span() for m in tried) if e > s), MAX_HITS)


def compile_regex(pattern: str, match_case: bool) -> Regex:
    """The pattern compiled, case-insensitive unless ``match_case``; a ValueError
    saying why when RE2 cannot run it."""
    options = re2.Options()
    options.case_sensitive = match_case
    options.log_errors = False  # the reason is raised, not printed to stderr
    options.max_mem = MAX_MEMORY
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as exc:
        raise ValueError(f"bad regular expression (RE2 syntax): {_reason(exc)}") from exc
    return Regex(pattern, match_case, compiled)


# What RE2 says, and what it means to someone who wrote a Python regex.
_HINTS = (
    ("invalid perl operator: (?=", "lookahead is not supported"),
    ("invalid perl operator: (?!", "lookahead is not supported"),
    ("invalid perl operator: (?<=", "lookbehind is not supported"),
    ("invalid perl operator: (?<!", "lookbehind is not supported"),
    ("invalid perl operator: (?P", "backreferences are not supported"),
    ("invalid escape sequence: \\Z", "write \\z for the end of the text"),
    ("bad repetition operator: ++", "possessive quantifiers are not supported"),
    ("bad repetition operator: *+", "possessive quantifiers are not supported"),
)


def _reason(exc: Exception) -> str:
    reason = exc.args[0] if exc.args else exc
    text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    hint = next((hint for prefix, hint in _HINTS if text.startswith(prefix)), None)
    if hint is None and text[:-1] == "invalid escape sequence: \\" and text[-1:].isdigit():
        hint = "backreferences are not supported"
    return f"{text} ({hint})" if hint else text
