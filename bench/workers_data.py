"""Inputs and loopback ends of the workers benchmark (bench/workers.py).

- **Feeds**: F feeds of E entries each, every entry real BBC text (read at run time
  from the shared data directory, never copied into the project). Entry n (over all
  feeds) is about BBC article ``a = n mod N`` (N = 2,087 with distinct bodies). The
  first N entries are the articles as they are. There are fewer articles than
  entries, so later rounds are made of them: one in ten is a syndicated copy of
  article ``a`` (its text under a wire dateline, with a footer), which the near
  stage should find; the others are another outlet's report of the event: ``a``'s
  title and lead paragraph, then three paragraphs from three other articles of the
  same category. All F × E texts differ (an identical text would be stored as a
  link, not as a new article), about 9 % are copies, and the rest overlap no more
  than reports of one event do (their lead), not copies of each other.
- **Loopback server** (``python -m bench.workers_data --feeds F --entries E``, its
  own process): ``GET /feeds/{i}.xml`` (RSS 2.0, ``ETag``, ``304`` on
  ``If-None-Match``), ``POST /hook`` (a webhook receiver counting ``webhook-id``
  headers), ``GET /stats`` (every feed request's time and status, every webhook
  id's count) and ``GET /reset``. Raw ``asyncio.Protocol``, as bench/feedserver.py,
  so that it stays cheap next to the workers on a 2-core machine.
- **Watchlists**: a rule set of bench/matching_data.py written as YAML files, the
  way a user would keep them.
- **Stored corpus**: filler articles as bench/neardup_db.py makes them (sketches
  and index keys, the common keys drawn from real sketches), published over the
  last 60 days so that half of them are inside the copy window and are loaded and
  screened as candidates, as a real corpus's recent articles would be.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from bench.neardup_data import Source
    from monitor.store.repository import Repository

ROOT = Path(__file__).resolve().parent.parent
MAX_HEAD = 64 * 1024
COPY_EVERY = 10  # of the later rounds' entries, one in ten is a syndicated copy
REPORT_PARAGRAPHS = 3  # an outlet's own report: the lead, then three paragraphs of others
DATELINES = ("LONDON (Reuters)", "NEW YORK (AP)", "PARIS (AFP)", "BRUSSELS (dpa)")
FOOTERS = (
    "Comments are closed.",
    "Copyright 2005 the wire service. All rights reserved.",
    "Sign up for our morning newsletter.",
)
COMMON_KEY = 3  # a key this many real sketches share is a common one (as bench/neardup.py)
KEY_SAMPLE = 2_000  # real entries indexed to find the common keys
STORED_SPAN = timedelta(days=60)  # stored articles published over this span before now
CHUNK = 5_000


# ---------------------------------------------------------------------------- feed entries


@dataclass(frozen=True)
class FeedEntry:
    guid: str
    link: str
    title: str
    paragraphs: tuple[str, ...]
    published: datetime


def feed_entries(
    sources: Sequence[Source], feeds: int, entries: int, now: datetime
) -> list[list[FeedEntry]]:
    """``entries`` distinct entries for each of ``feeds`` feeds, published in the last
    hours before ``now`` (inside every window of the near stage)."""
    sources = distinct_sources(sources)
    count = len(sources)
    by_category: dict[str, list[Source]] = defaultdict(list)
    for source in sources:
        by_category[source.category].append(source)
    out: list[list[FeedEntry]] = []
    for f in range(feeds):
        items = []
        for j in range(entries):
            n = f * entries + j
            source = sources[n % count]
            paragraphs = source.paragraphs
            if n >= count:  # a later round: a copy, or another outlet's report
                rng = random.Random(f"entry:{n}")
                if n % COPY_EVERY == 0:
                    dateline = f"{rng.choice(DATELINES)} - "
                    paragraphs = (dateline + paragraphs[0], *paragraphs[1:], rng.choice(FOOTERS))
                else:
                    others = [s for s in by_category[source.category] if s is not source]
                    picked = rng.sample(others, REPORT_PARAGRAPHS)
                    paragraphs = (paragraphs[0], *(rng.choice(o.paragraphs) for o in picked))
            items.append(
                FeedEntry(
                    guid=f"urn:bench:{f}:{j}",
                    link=f"https://site{f}.example/story/{j}",
                    title=source.title,
                    paragraphs=paragraphs,
                    # A second apart, in the order of the stream: a copy comes after its
                    # original, as wire copies do (the near stage's usual case).
                    published=now - timedelta(seconds=feeds * entries - n),
                )
            )
        out.append(items)
    return out


def distinct_sources(sources: Sequence[Source]) -> list[Source]:
    """The BBC articles without those whose body repeats an earlier one's (the set holds
    about 130 such pairs): a repeated body would be stored as a link, not an article."""
    from monitor.text.plain import normalise

    seen: set[str] = set()
    out = []
    for source in sources:
        body = normalise(" ".join(source.paragraphs))
        if body not in seen:
            seen.add(body)
            out.append(source)
    return out


def render_feed(index: int, items: Sequence[FeedEntry]) -> bytes:
    """RSS 2.0; each entry's paragraphs as escaped HTML in its description."""
    parts = []
    for item in items:
        body = "".join(f"<p>{escape(p)}</p>" for p in item.paragraphs)
        parts.append(
            f"<item><title>{escape(item.title)}</title><link>{escape(item.link)}</link>"
            f'<guid isPermaLink="false">{escape(item.guid)}</guid>'
            f"<pubDate>{format_datetime(item.published)}</pubDate>"
            f"<description>{escape(body)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Site {index} News</title><link>https://site{index}.example/</link>"
        f"<description>benchmark feed {index}</description>{''.join(parts)}</channel></rss>"
    ).encode()


# ---------------------------------------------------------------------------- the server


class State:
    """Rendered feeds, and what was asked of them and of the webhook receiver."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.bodies = bodies
        self.etags = [
            '"' + hashlib.sha1(b, usedforsecurity=False).hexdigest()[:20] + '"' for b in bodies
        ]
        self.reset()

    def reset(self) -> None:
        self.requests: dict[int, list[tuple[float, int]]] = defaultdict(list)  # (time, status)
        self.hooks: Counter[str] = Counter()  # webhook-id -> times received
        self.hook_times: list[float] = []

    def stats(self) -> bytes:
        return json.dumps(
            {
                "requests": {str(i): r for i, r in self.requests.items()},
                "hooks": dict(self.hooks),
                "hook_times": self.hook_times,
            }
        ).encode()


def respond(state: State, method: str, path: str, headers: dict[str, str]) -> bytes:
    if method == "GET" and path.startswith("/feeds/") and path.endswith(".xml"):
        try:
            index = int(path[7:-4])
            body, etag = state.bodies[index], state.etags[index]
        except (ValueError, IndexError):
            return _response("404 Not Found", b"not found\n", "text/plain")
        if headers.get("if-none-match") == etag:
            state.requests[index].append((time.time(), 304))
            return f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\n\r\n".encode()
        state.requests[index].append((time.time(), 200))
        ctype = "application/rss+xml; charset=utf-8"
        return _response("200 OK", body, ctype, f"ETag: {etag}\r\n")
    if method == "POST" and path == "/hook":
        state.hooks[headers.get("webhook-id", "")] += 1
        state.hook_times.append(time.time())
        return b"HTTP/1.1 204 No Content\r\n\r\n"
    if path == "/stats":
        return _response("200 OK", state.stats(), "application/json")
    if path == "/reset":
        state.reset()
        return _response("200 OK", b"{}", "application/json")
    return _response("404 Not Found", b"not found\n", "text/plain")


def _response(status: str, body: bytes, ctype: str, extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
    return (head + extra + "\r\n").encode() + body


class Protocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and pipelining; request bodies read and ignored."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

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
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            if len(self.buf) < end + 4 + length:
                break  # the rest of a webhook's body is still to come
            self.buf = self.buf[end + 4 + length :]
            method, target, *_ = [*lines[0].split(" "), "", ""]
            out.append(respond(self.state, method, target.split("?", 1)[0], headers))
            close = headers.get("connection", "").lower() == "close"
        if self.transport is not None:
            self.transport.writelines(out)
            if close:
                self.transport.close()


async def serve(state: State) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Protocol(state), "127.0.0.1", 0)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> None:
    from bench.neardup_data import BBC, read_bbc

    parser = argparse.ArgumentParser(description="loopback feeds and webhook receiver")
    parser.add_argument("--feeds", type=int, required=True)
    parser.add_argument("--entries", type=int, required=True)
    args = parser.parse_args(argv)
    items = feed_entries(read_bbc(BBC), args.feeds, args.entries, datetime.now(UTC))
    state = State([render_feed(i, feed) for i, feed in enumerate(items)])
    del items
    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]

        uvloop.run(serve(state))
    except ImportError:
        asyncio.run(serve(state))


class Loopback:
    """The server process, for a ``with`` block, and its counters."""

    def __init__(self, feeds: int, entries: int) -> None:
        self.feeds, self.entries = feeds, entries
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> Loopback:
        cmd = [sys.executable, "-m", "bench.workers_data", "--feeds", str(self.feeds)]
        self.proc = subprocess.Popen(
            [*cmd, "--entries", str(self.entries)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # once every feed is rendered
        if not line.startswith("PORT "):
            self.__exit__()
            raise RuntimeError(f"the loopback server did not start (said {line!r})")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else -1

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.port}/feeds/{i}.xml" for i in range(self.feeds)]

    @property
    def hook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as resp:
            return json.load(resp)

    def stats(self) -> dict[str, Any]:
        return dict(self._get("/stats"))

    def reset(self) -> None:
        self._get("/reset")


# ---------------------------------------------------------------------------- watchlists


def write_watchlists(directory: Path, rules: int, seed: int = 1) -> dict[str, Any]:
    """The rule set of bench/matching_data.py with ``rules`` rules, one YAML file per
    watchlist (JSON, which YAML reads); returns what was written."""
    from bench.matching_data import (
        CONCEPTS,
        PHOENIX,
        Skipped,
        build_rules,
        order_actors,
        read_actors,
        read_agent_concepts,
    )
    from bench.matching_data import Entry as DataEntry

    # As bench/matching.py: the news concepts, then the agent-noun groups.
    news = [DataEntry(name, 3, terms) for name, terms in CONCEPTS.items()]
    concepts = news + read_agent_concepts(PHOENIX)
    skipped = Skipped()
    ruleset = build_rules(rules, order_actors(read_actors(PHOENIX), seed), concepts, skipped)
    directory.mkdir(parents=True, exist_ok=True)
    for watchlist in ruleset.watchlists:
        spec: dict[str, Any] = {"name": watchlist.name, "actors": {}, "concepts": {}}
        for ref in watchlist.refs:
            kind = "actors" if ref.kind == "actor" else "concepts"
            spec[kind][ref.name] = [term.source for term in ref.terms]
        spec["rules"] = {
            rule.name: {"all": list(rule.all), **({"any": list(rule.any)} if rule.any else {})}
            for rule in watchlist.rules
        }
        (directory / f"{watchlist.name}.yaml").write_text(json.dumps(spec, indent=1) + "\n")
    return {
        "rules": rules,
        "watchlists": len(ruleset.watchlists),
        "actors": ruleset.actors_used,
        "concepts": ruleset.concepts_used,
        "aliases_refused": skipped.count,
        "names": [w.name for w in ruleset.watchlists],
    }


# ---------------------------------------------------------------------------- stored corpus


def common_keys(sources: Sequence[Source], feeds: int, entries: int) -> dict[int, int]:
    """Keys that 3 or more of the real entries' sketches share, with their counts: a
    sample of the entries indexed by the near stage in a scratch SQLite database."""
    from bench.neardup_data import Doc
    from bench.neardup_db import add_feed, fresh_repository, load_docs, near_stage
    from monitor.config import DuplicateSettings
    from monitor.store.models import SketchKeyRow

    now = datetime.now(UTC)
    items = [e for feed in feed_entries(sources, feeds, entries, now) for e in feed]
    step = max(1, len(items) // KEY_SAMPLE)
    docs = [
        Doc(e.guid, e.title, "\n\n".join(e.paragraphs), e.published, e.guid, "original", None)
        for e in items[::step][:KEY_SAMPLE]
    ]
    with tempfile.TemporaryDirectory(prefix="bench-workers-keys-") as tmp:
        repo = fresh_repository(f"sqlite:///{tmp}/keys.db")
        try:
            load_docs(repo, add_feed(repo), docs, now)
            near_stage(repo, DuplicateSettings(), now).run()
            from sqlalchemy import func, select

            query = (
                select(SketchKeyRow.key, func.count())
                .group_by(SketchKeyRow.key)
                .having(func.count() >= COMMON_KEY)
            )
            with repo.engine.connect() as conn:
                return {int(key): int(count) for key, count in conn.execute(query)}
        finally:
            repo.close()


def fill_stored(repo: Repository, count: int, pool: dict[int, int], seed: int = 1) -> None:
    """``count`` stored articles, already compared and matched: bench/neardup_db.py's
    fillers (random sketch bins, 15 random keys and one common key each), published
    over the last 60 days, each with two fingerprints (entry and text) as a stored
    article has, in a feed that is not polled."""
    from sqlalchemy import insert, text

    from bench.neardup_db import (
        _MOVE_SERIAL,
        _filler_keys,
        _filler_sketch,
        _next_doc,
        add_feed,
        article_id,
    )
    from monitor.near.decide import KEY_CAP
    from monitor.store.bulk import add_pairs
    from monitor.store.models import ArticleRow, FingerprintRow, SketchKeyRow, SketchRow

    key_table = SketchKeyRow.metadata.tables[SketchKeyRow.__tablename__]
    feed_id = add_feed(repo)  # origin "config": stopped when a worker syncs its feed list
    rng = random.Random(seed)
    room = {key: KEY_CAP - filed for key, filed in pool.items() if filed < KEY_CAP}
    open_keys = list(room)
    start = datetime.now(UTC) - STORED_SPAN
    next_doc = _next_doc(repo)
    with repo.engine.begin() as conn:
        for first in range(0, count, CHUNK):
            articles, sketches, prints = [], [], []
            keys: list[tuple[int, int]] = []
            for i in range(first, min(count, first + CHUNK)):
                aid = article_id(f"stored/{seed}/{i}")
                published = start + timedelta(seconds=rng.uniform(0, STORED_SPAN.total_seconds()))
                articles.append(_stored_article(feed_id, aid, i, published))
                # The sketch's own date (start + up to 60 days) decides the window.
                sketches.append(_filler_sketch(aid, start, rng, next_doc + i))
                keys.extend((key, next_doc + i) for key in _filler_keys(rng, open_keys, room))
                for kind in ("entry", "text"):
                    fp = hashlib.sha1(f"{kind}/{aid}".encode(), usedforsecurity=False).hexdigest()
                    prints.append({"fp": fp, "article_id": aid, "created_at": published})
            conn.execute(insert(ArticleRow), articles)
            conn.execute(insert(SketchRow), sketches)
            conn.execute(insert(FingerprintRow), prints)
            add_pairs(conn, key_table, "key", "doc", keys)
        if repo.engine.dialect.name == "postgresql":  # the docs were given: move the serial on
            conn.execute(text(_MOVE_SERIAL))


def _stored_article(feed_id: int, aid: str, i: int, published: datetime) -> dict[str, Any]:
    return {
        "id": aid,
        "feed_id": feed_id,
        "guid": f"stored-{i}",
        "title": f"stored {i}",
        "summary": "",
        "content": "",
        "authors": "[]",
        "published_at": published,
        "date_from_feed": True,
        "first_seen_at": published,
        "updated_at": published,
        "update_count": 0,
        "entry_fp": "",
        "matched_at": published,
        "near_at": published,
    }


if __name__ == "__main__":
    main()
