"""Loopback HTTP/1.1 feed server, run in its own process by the benchmark.

    python -m bench.feedserver --feeds 1000 --entries 20 --opml /tmp/x/feeds.opml

Serves ``GET /feeds/{i}.xml`` (200 with ETag and Last-Modified, or 304 when
``If-None-Match`` / ``If-Modified-Since`` match), ``GET /feeds.opml`` and
``GET /stats`` (request counters as JSON).  Keep-alive and pipelining are
supported.  Once listening it prints ``PORT <n>`` on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import datetime
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from pathlib import Path

from bench import feedgen

MAX_HEAD = 64 * 1024


class Feeds:
    """Pre-rendered responses and request counters."""

    def __init__(self, seed: int, feeds: int, entries: int, host: str, port: int) -> None:
        self.rendered = feedgen.render_all(seed, feeds, entries)
        self.port = port
        self.urls = [f"http://{host}:{port}/feeds/{i}.xml" for i in range(feeds)]
        self.opml = feedgen.opml(self.urls).encode()
        self.stats = {
            "feed_requests": 0,
            "ok": 0,
            "not_modified": 0,
            "not_found": 0,
            "other_requests": 0,
            "connections": 0,
            "body_bytes": 0,
        }
        self._date = ""
        self._date_at = 0.0

    def date(self) -> str:
        now = time.time()
        if now - self._date_at >= 1.0:
            self._date, self._date_at = formatdate(now, usegmt=True), now
        return self._date


def _etag_matches(header: str, etag: str) -> bool:
    tags = (tag.strip() for tag in header.split(","))
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in tags)


def _not_modified_since(header: str, last_modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and last_modified <= since


def respond(feeds: Feeds, method: str, path: str, headers: dict[str, str]) -> bytes:
    """Build the full response (status line, headers, body) for one request."""
    head = method == "HEAD"
    if path.startswith("/feeds/") and path.endswith(".xml"):
        feeds.stats["feed_requests"] += 1
        try:
            body, etag, last_modified = feeds.rendered[int(path[7:-4])]
        except (ValueError, IndexError):
            feeds.stats["not_found"] += 1
            return _response(feeds, "404 Not Found", b"not found\n", "text/plain", head)
        inm, ims = headers.get("if-none-match"), headers.get("if-modified-since")
        extra = f"ETag: {etag}\r\nLast-Modified: {format_datetime(last_modified, usegmt=True)}\r\n"
        extra += "Cache-Control: no-cache\r\n"
        if (inm is not None and _etag_matches(inm, etag)) or (
            inm is None and ims is not None and _not_modified_since(ims, last_modified)
        ):
            feeds.stats["not_modified"] += 1
            return f"HTTP/1.1 304 Not Modified\r\nDate: {feeds.date()}\r\n{extra}\r\n".encode()
        feeds.stats["ok"] += 1
        feeds.stats["body_bytes"] += 0 if head else len(body)
        ctype = "application/rss+xml; charset=utf-8"
        return _response(feeds, "200 OK", body, ctype, head, extra)
    feeds.stats["other_requests"] += 1
    if path == "/stats":
        body = json.dumps(feeds.stats).encode()
        return _response(feeds, "200 OK", body, "application/json", head)
    if path == "/feeds.opml":
        return _response(feeds, "200 OK", feeds.opml, "text/x-opml; charset=utf-8", head)
    return _response(feeds, "404 Not Found", b"not found\n", "text/plain", head)


def _response(
    feeds: Feeds, status: str, body: bytes, ctype: str, head: bool, extra: str = ""
) -> bytes:
    lines = (
        f"HTTP/1.1 {status}\r\nDate: {feeds.date()}\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return lines.encode() if head else lines.encode() + body


class FeedProtocol(asyncio.Protocol):
    def __init__(self, feeds: Feeds) -> None:
        self.feeds = feeds
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.feeds.stats["connections"] += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        out: list[bytes] = []
        close = False
        while not close:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                close = len(self.buf) > MAX_HEAD
                break
            lines = self.buf[:end].decode("latin-1").split("\r\n")
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            if len(self.buf) < end + 4 + length:
                break  # wait for the request body (never sent by feed readers)
            self.buf = self.buf[end + 4 + length :]
            try:
                method, target, version = lines[0].split(" ")
            except ValueError:
                out.append(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                close = True
                break
            out.append(respond(self.feeds, method, target.split("?", 1)[0], headers))
            conn = headers.get("connection", "").lower()
            close = conn == "close" or (version == "HTTP/1.0" and conn != "keep-alive")
        if self.transport is not None:
            if out:
                self.transport.writelines(out)
            if close:
                self.transport.close()


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    holder: list[Feeds] = []
    server = await loop.create_server(lambda: FeedProtocol(holder[0]), args.host, args.port)
    port = server.sockets[0].getsockname()[1]
    holder.append(Feeds(args.seed, args.feeds, args.entries, args.host, port))
    if args.opml:
        tmp = Path(args.opml + ".tmp")
        tmp.write_bytes(holder[0].opml)
        tmp.replace(args.opml)
    print(f"PORT {port}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--opml", help="write an OPML file listing every feed URL here")
    args = parser.parse_args(argv)
    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        runner(serve(args))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
