"""Fetching: one feed in, one FetchResult out.

The Fetcher protocol is the seam: it never raises for a feed's own failure
(a refused address, a timeout, a bomb, HTTP 500); those come back as a result
with ``status="error"`` and an ``error_kind`` so one bad feed stops nothing else.
httpx and aiohttp are used in ``monitor.fetch.http`` only.
"""

from __future__ import annotations

from typing import Protocol

from monitor.core.types import Feed, FetchResult


class Fetcher(Protocol):
    async def fetch(self, feed: Feed) -> FetchResult: ...

    async def aclose(self) -> None: ...
