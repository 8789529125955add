"""Loopback HTTP/1.1 feed server, run in its own process by the benchmark.

    python -m bench.feedserver --feeds 1000 --entries 20 --opml /tmp/x/feeds.opml

Serves ``GET /feeds/{i}.xml`` (200 with ETag and Last-Modified, or 304 when
``If-None-Match`` / ``If-Modified-Since`` match), ``GET /feeds.opml`` and
``GET /stats`` (request counters as JSON).  Keep-alive and pipelining are
supported.  Once listening it prints ``PORT <n>`` on stdout.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from functools import partial
from pathlib import Path

from bench import feedgen
from bench.loopback import HTTPProtocol, response, run, say_port, serve


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

    def connected(self) -> None:
        self.stats["connections"] += 1

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
    return response(status, body, ctype, extra, date=feeds.date(), head=head)


def listen(args: argparse.Namespace, holder: list[Feeds], port: int) -> None:
    """Render the feeds (their URLs hold the port), write the OPML, then say the port."""
    holder.append(Feeds(args.seed, args.feeds, args.entries, args.host, port))
    if args.opml:
        tmp = Path(args.opml + ".tmp")
        tmp.write_bytes(holder[0].opml)
        tmp.replace(args.opml)
    say_port(port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--opml", help="write an OPML file listing every feed URL here")
    args = parser.parse_args(argv)
    holder: list[Feeds] = []  # filled once the port is known

    def protocol() -> HTTPProtocol:
        return HTTPProtocol(partial(respond, holder[0]), holder[0].connected)

    run(serve(protocol, args.host, args.port, partial(listen, args, holder)))


if __name__ == "__main__":
    main()
