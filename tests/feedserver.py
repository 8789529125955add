"""A real HTTP server on loopback that serves feeds and misbehaves on request.

Each path gets a behaviour (serve a feed with ETag, answer a status, redirect,
drip slowly, stall, send a decompression bomb...). Hits are counted per path,
so tests can assert that a forbidden address was never reached.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FeedServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[dict[str, str]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def start(self) -> FeedServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        self.requests.append({"path": request.path, **dict(request.headers)})
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404)
        return await handler(request)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def feed(
    body: bytes,
    etag: str | None = '"v1"',
    content_type: str = "application/rss+xml",
    headers: dict[str, str] | None = None,
) -> Handler:
    """Serve ``body``; answer 304 to a matching If-None-Match."""

    async def handler(request: web.Request) -> web.StreamResponse:
        extra = {"ETag": etag} if etag else {}
        if etag and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=extra)
        return web.Response(
            body=body, content_type=content_type.split(";")[0], headers={**extra, **(headers or {})}
        )

    return handler


def status(code: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, headers=headers, body=body)

    return handler


def redirect(location: str, code: int = 302) -> Handler:
    return status(code, {"Location": location})


def drip(body: bytes, interval_s: float = 1.0) -> Handler:
    """One byte per interval: every read succeeds, the whole never ends in time."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        for byte in body:
            await response.write(bytes([byte]))
            await asyncio.sleep(interval_s)
        return response

    return handler


def stall() -> Handler:
    """Accept the request and never answer."""

    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(3600)
        return web.Response()

    return handler


def encoded(body: bytes, encoding: str) -> Handler:
    """Send ``body`` as it is, claiming ``encoding`` (so bombs arrive as bombs)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=body, headers={"Content-Encoding": encoding, "Content-Type": "application/rss+xml"}
        )

    return handler


def endless(chunk: bytes = b"<item>" * 1000) -> Handler:
    """A body with no length that never ends."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        while True:
            await response.write(chunk)

    return handler


def gzip_bomb(decoded_size: int) -> bytes:
    """``decoded_size`` zero bytes, gzip-compressed (about a thousandth of the size)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(2**20)
    parts = [compressor.compress(block) for _ in range(decoded_size // len(block))]
    return b"".join(parts) + compressor.flush()


def double_gzip(data: bytes) -> bytes:
    return gzip.compress(gzip.compress(data))


def rss(*items: dict[str, Any], title: str = "Test feed", ttl: int | None = None) -> bytes:
    """A small RSS 2.0 document."""
    parts = [
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
    ]
    if ttl:
        parts.append(f"<ttl>{ttl}</ttl>")
    for item in items:
        parts.append("<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in item.items()) + "</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()
