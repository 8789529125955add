"""The loopback ends of bench/alerts.py: an RSS feed the benchmark adds items to, and a
webhook receiver, each on its own port, served by aiohttp from one thread.

Times are taken here, in the benchmark's process, on its monotonic clock (the
latencies) and its wall clock (to line them up with the daemon's log).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bench.feedgen import article_feed, article_item
from bench.neardup_data import Source


@dataclass
class Item:
    source: Source
    url: str
    visible: float = 0.0  # monotonic: from then on the feed serves it
    visible_wall: float = 0.0
    polled: float | None = None  # monotonic: the first feed request answered with it
    polled_wall: float | None = None
    arrived: float | None = None  # monotonic: its webhook was received
    arrived_wall: float | None = None


class Loopback:
    """GET /feed.xml on one port, POST /hook on another: two hosts, as in production."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.requests: list[float] = []  # monotonic times of the feed requests
        self.hooks: list[dict[str, Any]] = []  # the webhook bodies, in arrival order
        self.lock = threading.Lock()
        self.arrival = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self.ports: list[int] = []

    def __enter__(self) -> Loopback:
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        if not ready.wait(10):
            raise RuntimeError("the loopback servers did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)

    @property
    def feed_url(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}/feed.xml"

    @property
    def hook_url(self) -> str:
        return f"http://127.0.0.1:{self.ports[1]}/hook"

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        for method, path, handler in (
            ("GET", "/feed.xml", self._feed),
            ("POST", "/hook", self._hook),
        ):
            app = web.Application()
            app.router.add_route(method, path, handler)
            runner = web.AppRunner(app, access_log=None)
            self.loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            self.loop.run_until_complete(site.start())
            self.ports.append(runner.addresses[0][1])
        ready.set()
        self.loop.run_forever()

    def add(self, item: Item) -> None:
        # Under the lock the feed handler reads the list with: no request can
        # serve the item before its time is taken.
        with self.lock:
            item.visible, item.visible_wall = time.monotonic(), time.time()
            self.items.append(item)

    def wait_for(self, item: Item, timeout: float) -> bool:
        with self.arrival:
            return self.arrival.wait_for(lambda: item.arrived is not None, timeout)

    async def _feed(self, request: web.Request) -> web.Response:
        with self.lock:
            now, wall, items = time.monotonic(), time.time(), list(self.items)
        self.requests.append(now)
        for item in items:
            if item.polled is None:
                item.polled, item.polled_wall = now, wall
        etag = f'"v{len(items)}"'  # monitor polls conditionally: an unchanged feed gets 304
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        headers = {"ETag": etag, "Content-Type": "application/rss+xml; charset=utf-8"}
        return web.Response(body=rss(items), headers=headers)

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        now, wall = time.monotonic(), time.time()  # the whole request is in
        urls = {e.get("url") for g in body.get("groups", []) for e in g.get("entries", [])}
        with self.arrival:
            self.hooks.append(body)
            for item in self.items:
                if item.url in urls and item.arrived is None:
                    item.arrived, item.arrived_wall = now, wall
            self.arrival.notify_all()
        return web.Response(status=204)


def rss(items: Sequence[Item]) -> bytes:
    """RSS 2.0, newest first; the article's paragraphs as the (escaped HTML) description."""
    entries = [
        article_item(
            item.source.title,
            item.url,
            f"bench-{item.source.id}",
            datetime.fromtimestamp(item.visible_wall, UTC),
            item.source.paragraphs,
        )
        for item in reversed(items)
    ]
    return article_feed("Bench Wire", "https://news.example/", "benchmark feed", entries)
