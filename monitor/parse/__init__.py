"""Parsing: feed bytes in, a ParsedFeed of normalised entries out.

``feeds`` reads RSS/Atom (feedparser, given bytes only) and JSON Feed, ``entries``
normalises each entry (plain text, canonical URL, UTC date, capped sizes), and
``pool`` runs both in worker processes that can be stopped when a hostile feed
makes the parser run too long.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from monitor.core.types import ParsedFeed


class Parser(Protocol):
    async def parse(
        self, body: bytes, content_type: str | None, base_url: str, now: datetime
    ) -> ParsedFeed:
        """Raises ParseError when the body is not a feed or parsing runs too long."""
        ...

    def close(self) -> None: ...
