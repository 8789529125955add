"""Text from outside made safe to store and show as one line.

An HTTP reason phrase, a Location header or a parser's message can carry ESC,
BEL, C1 controls or line breaks: printed raw, they move the cursor, retitle the
window or open an OSC-8 hyperlink in the terminal of whoever reads the feed's
health; stored raw, they do it again each time. Bidirectional overrides are
dropped too, since they make a line read differently from what it holds.
"""

from __future__ import annotations

import re

# C0 controls (tab, CR and LF included), DEL, C1, and the bidirectional
# embeddings, overrides and isolates.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")
MAX_CHARS = 2000


def one_line(text: str, limit: int = MAX_CHARS) -> str:
    """``text`` without control characters (each run becomes one space), cut at ``limit``."""
    cleaned = _CONTROLS.sub(" ", text).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def one_line_or_none(text: str | None) -> str | None:
    return None if text is None else one_line(text)
