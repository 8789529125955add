"""Local feed files, allowed only when the configuration names them.

The file's size and modification time stand in for an ETag, so an unchanged
file is "not modified" and is not parsed again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import unquote, urlsplit

from monitor.core.types import Feed, FetchResult
from monitor.fetch import Fetcher


def local_path(url: str) -> Path:
    """The path behind a ``file:`` URL or a plain path."""
    if url.startswith("file:"):
        return Path(unquote(urlsplit(url).path))
    return Path(url)


class FileFetcher:
    def __init__(self, max_body: int) -> None:
        self.max_body = max_body

    async def fetch(self, feed: Feed) -> FetchResult:
        return await asyncio.to_thread(self._read, feed)

    def _read(self, feed: Feed) -> FetchResult:
        path = local_path(feed.url)
        try:
            stat = path.stat()
            tag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
            if feed.etag == tag:
                return FetchResult(status="not_modified", etag=tag)
            if stat.st_size > self.max_body:
                return FetchResult(
                    status="error",
                    error=f"too large: {stat.st_size} bytes, limit {self.max_body}",
                    error_kind="too_large",
                )
            return FetchResult(status="ok", body=path.read_bytes(), etag=tag)
        except OSError as exc:
            return FetchResult(
                status="error", error=f"cannot read {path}: {exc.strerror}", error_kind="file_error"
            )

    async def aclose(self) -> None:
        return None


class RoutingFetcher:
    """Local feeds to the file fetcher, the rest to HTTP."""

    def __init__(self, http: Fetcher, files: FileFetcher) -> None:
        self.http = http
        self.files = files

    async def fetch(self, feed: Feed) -> FetchResult:
        return await (self.files if feed.local else self.http).fetch(feed)

    async def aclose(self) -> None:
        await self.http.aclose()
