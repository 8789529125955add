"""Text from outside made safe to store and show: the one rule for control characters.

An HTTP reason phrase, a Location header, a parser's message or a feed title can
carry ESC, BEL, C1 controls or line breaks: printed raw, they move the cursor,
retitle the window or open an OSC-8 hyperlink in the terminal of whoever reads
them; in a mail header they start a new header. Bidirectional overrides are
dropped too, since they make a line read differently from what it holds.
"""

from __future__ import annotations

import re

from monitor.core.redact import redact_text

# DEL, C1, the Unicode line and paragraph separators, and the bidirectional
# embeddings, overrides and isolates; with all of C0 (tab, CR and LF included), or
# with C0 less tab and newline for a document (a digest's text) that keeps its layout.
_OTHERS = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile(f"[\x00-\x1f{_OTHERS}]+")
_CONTROLS_BUT_LAYOUT = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHERS}]+")
MAX_CHARS = 2000


def one_line(text: str, limit: int = MAX_CHARS) -> str:
    """``text`` as one line: each run of control characters and spaces becomes one
    space, cut at ``limit`` characters."""
    cleaned = " ".join(_CONTROLS.sub(" ", text).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def one_line_or_none(text: str | None) -> str | None:
    return None if text is None else one_line(text)


def error_line(text: str) -> str:
    """An error quoting someone else's words (a server, a parser), as stored and shown:
    one line, secrets masked."""
    return one_line(redact_text(text))


def without_controls(text: str) -> str:
    """``text`` with no control characters but tab and newline (a document as it is)."""
    return _CONTROLS_BUT_LAYOUT.sub("", text)


def without_any_controls(text: str) -> str:
    """``text`` with no control character at all (a URL: browsers drop tabs and newlines)."""
    return _CONTROLS.sub("", text)
