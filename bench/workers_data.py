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
  id's count) and ``GET /reset``. Raw ``asyncio.Protocol`` (bench/loopback.py), as
  bench/feedserver.py, so that it stays cheap next to the workers on a 2-core machine.
- **Watchlists**: a rule set of bench/matching_data.py written as YAML files, the
  way a user would keep them.
- **Stored corpus**: filler articles as bench/neardup_db.py makes them (sketches
  and index keys, the common keys drawn from real sketches), published over the
  last 60 days so that half of them are inside the copy window and are loaded and
  screened as candidates, as a real corpus's recent articles would be.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.feedgen import article_feed, article_item
from bench.loopback import HTTPProtocol, ServerProcess, etag, response, run, say_port, serve

if TYPE_CHECKING:
    from bench.neardup_data import Doc, Source
    from monitor.store.repository import Repository

COPY_EVERY = 10  # of the later rounds' entries, one in ten is a syndicated copy
REPORT_PARAGRAPHS = 3  # an outlet's own report: the lead, then three paragraphs of others
DATELINES = ("LONDON (Reuters)", "NEW YORK (AP)", "PARIS (AFP)", "BRUSSELS (dpa)")
FOOTERS = (
    "Comments are closed.",
    "Copyright 2005 the wire service. All rights reserved.",
    "Sign up for our morning newsletter.",
)
KEY_SAMPLE = 2_000  # real entries indexed to find the common keys
STORED_SPAN = timedelta(days=60)  # stored articles published over this span before now


# ---------------------------------------------------------------------------- feed entries


@dataclass(frozen=True)
class FeedEntry:
    guid: str
    link: str
    title: str
    paragraphs: tuple[str, ...]
    published: datetime

    def doc(self) -> Doc:
        """The entry as the near-duplicate benchmark's document (an original)."""
        from bench.neardup_data import Doc

        text = "\n\n".join(self.paragraphs)
        return Doc(self.guid, self.title, text, self.published, self.guid, "original", None)


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
    parts = [
        article_item(item.title, item.link, item.guid, item.published, item.paragraphs)
        for item in items
    ]
    site = f"https://site{index}.example/"
    return article_feed(f"Site {index} News", site, f"benchmark feed {index}", parts)


# ---------------------------------------------------------------------------- the server


class State:
    """Rendered feeds, and what was asked of them and of the webhook receiver."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.bodies = bodies
        self.etags = [etag(b) for b in bodies]
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
            body, tag = state.bodies[index], state.etags[index]
        except (ValueError, IndexError):
            return response("404 Not Found", b"not found\n", "text/plain")
        if headers.get("if-none-match") == tag:
            state.requests[index].append((time.time(), 304))
            return f"HTTP/1.1 304 Not Modified\r\nETag: {tag}\r\n\r\n".encode()
        state.requests[index].append((time.time(), 200))
        ctype = "application/rss+xml; charset=utf-8"
        return response("200 OK", body, ctype, f"ETag: {tag}\r\n")
    if method == "POST" and path == "/hook":
        state.hooks[headers.get("webhook-id", "")] += 1
        state.hook_times.append(time.time())
        return b"HTTP/1.1 204 No Content\r\n\r\n"
    if path == "/stats":
        return response("200 OK", state.stats(), "application/json")
    if path == "/reset":
        state.reset()
        return response("200 OK", b"{}", "application/json")
    return response("404 Not Found", b"not found\n", "text/plain")


def main(argv: Sequence[str] | None = None) -> None:
    from bench.neardup_data import BBC, read_bbc

    parser = argparse.ArgumentParser(description="loopback feeds and webhook receiver")
    parser.add_argument("--feeds", type=int, required=True)
    parser.add_argument("--entries", type=int, required=True)
    args = parser.parse_args(argv)
    items = feed_entries(read_bbc(BBC), args.feeds, args.entries, datetime.now(UTC))
    state = State([render_feed(i, feed) for i, feed in enumerate(items)])
    del items
    run(serve(lambda: HTTPProtocol(partial(respond, state)), "127.0.0.1", 0, say_port))


class Loopback(ServerProcess):
    """The server process, for a ``with`` block, and its counters."""

    def __init__(self, feeds: int, entries: int) -> None:
        self.entries = entries
        args = ["--feeds", str(feeds), "--entries", str(entries)]
        super().__init__("loopback server", "bench.workers_data", args, feeds)

    def __enter__(self) -> Loopback:
        self.start()  # once every feed is rendered
        return self

    @property
    def hook_url(self) -> str:
        return self.url("/hook")

    def stats(self) -> dict[str, Any]:
        return dict(self.get_json("/stats", timeout=30))

    def reset(self) -> None:
        self.get_json("/reset", timeout=30)


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
    from bench.neardup_db import add_feed, fresh_repository, shared_keys

    now = datetime.now(UTC)
    items = [e for feed in feed_entries(sources, feeds, entries, now) for e in feed]
    step = max(1, len(items) // KEY_SAMPLE)
    docs = [e.doc() for e in items[::step][:KEY_SAMPLE]]
    with tempfile.TemporaryDirectory(prefix="bench-workers-keys-") as tmp:
        repo = fresh_repository(f"sqlite:///{tmp}/keys.db")
        try:
            return shared_keys(repo, add_feed(repo), docs, now, now)
        finally:
            repo.close()


def fill_stored(repo: Repository, count: int, pool: dict[int, int], seed: int = 1) -> None:
    """``count`` stored articles, already compared and matched: bench/neardup_db.py's
    fillers (random sketch bins, 15 random keys and one common key each), published
    over the last 60 days, each with two fingerprints (entry and text) as a stored
    article has, in a feed that is not polled."""
    from bench.neardup_db import Stored, add_feed, article_id, fill_indexed, stored_article

    feed_id = add_feed(repo)  # origin "config": stopped when a worker syncs its feed list
    start = datetime.now(UTC) - STORED_SPAN

    def stored(i: int, rng: random.Random) -> Stored:
        aid = article_id(f"stored/{seed}/{i}")
        published = start + timedelta(seconds=rng.uniform(0, STORED_SPAN.total_seconds()))
        prints = [
            {"fp": _fingerprint(f"{kind}/{aid}"), "article_id": aid, "created_at": published}
            for kind in ("entry", "text")
        ]
        row = stored_article(feed_id, aid, f"stored-{i}", f"stored {i}", published, published)
        # The sketch's own date (start + up to 60 days) decides the window.
        return Stored(row, start, prints)

    fill_indexed(repo, count, pool, seed, stored)


def _fingerprint(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


if __name__ == "__main__":
    main()
