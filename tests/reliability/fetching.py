"""Fetching, parsing and storing hazards (HAZARDS.md's first two tables), as figures.

Every scenario starts its own loopback servers (127.0.0.2 is the one address the
configuration allows, 127.0.0.1 the one no request may reach) and its own
databases, and goes through the real code: the HTTP fetcher, the parse worker
pool, and where the figure is about what a user sees, a whole ``App`` polling a
configuration, with its errors read back from feed health.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import gzip
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from ipaddress import ip_network
from itertools import cycle
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from monitor import config as config_module
from monitor.app import App
from monitor.core.clock import SystemClock
from monitor.core.errors import ConfigError, ParseError
from monitor.core.types import AddressPolicy, CycleReport, Feed, FeedInfo, FetchResult, ParsedFeed
from monitor.fetch.http import HttpFetcher, HttpSettings
from monitor.near.filing import text_keys
from monitor.parse.entries import OLDEST, Limits
from monitor.parse.pool import ParsePool
from tests.conftest import FakeClock
from tests.feedserver import (
    FeedServer,
    Handler,
    drip,
    encoded,
    endless,
    feed,
    redirect,
    rss,
    stall,
    status,
)
from tests.reliability.databases import database
from tests.reliability.figures import Figure, Scale

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "parse" / "data"
ALLOWED_HOST = "127.0.0.2"  # what the configurations below allow, as a self-hoster would
ALLOW_TEST_SERVER = AddressPolicy(networks=(ip_network(f"{ALLOWED_HOST}/32"),))
DEADLINE_S = 2.0  # the request deadline the scenarios configure
PARSE_DEADLINE_S = 1.5  # the parse deadline the scenarios configure
MAX_BODY = 10 * 2**20  # the default body cap
MEMORY_SLACK = 20 * 2**20  # what a fetch may cost above the body cap
BOMB_SIZE = 256 * 2**20  # what each decompression bomb inflates to: 25 times the cap
MB = 2**20
STORY = (
    "Officials confirmed on Monday that a convoy had crossed the border overnight, "
    "and that more units were expected to follow within days, according to a statement."
)


# Servers, fetches, monitors ---------------------------------------------------


@contextmanager
def serving(*servers: FeedServer) -> Iterator[None]:
    started: list[FeedServer] = []
    try:
        for server in servers:
            started.append(server.start())
        yield
    finally:
        for server in started:
            server.stop()


class FeedServerAt(FeedServer):
    """A FeedServer on a chosen port: a rebound name keeps its port, so the
    forbidden server must listen on the allowed one's port."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host)
        self.port = port

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()


@dataclass(frozen=True)
class Timed:
    result: FetchResult
    seconds: float


def fetch_all(
    urls: Sequence[str],
    policy: AddressPolicy = ALLOW_TEST_SERVER,
    settings: HttpSettings | None = None,
    dns: Callable[[], AbstractResolver] | None = None,
) -> list[Timed]:
    """Each URL fetched once by one real fetcher, all at once."""
    chosen = settings or HttpSettings(timeout_s=DEADLINE_S)

    async def timed(fetcher: HttpFetcher, feed_: Feed) -> Timed:
        started = time.monotonic()
        try:
            result = await fetcher.fetch(feed_)
        except Exception as exc:  # the fetcher promises not to raise: show it when it does
            result = FetchResult(status="error", error=f"raised {exc!r}", error_kind="raised")
        return Timed(result, time.monotonic() - started)

    async def go() -> list[Timed]:
        fetcher = (
            HttpFetcher(chosen, SystemClock(), dns) if dns else HttpFetcher(chosen, SystemClock())
        )
        try:
            feeds = [Feed(id=i, url=url, policy=policy) for i, url in enumerate(urls)]
            return list(await asyncio.gather(*(timed(fetcher, f) for f in feeds)))
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


# One watchlist that every test story matches, so alerts can be counted.
WATCHLIST = """\
name: convoys
concepts:
  convoy:
    terms: [convoy*]
rules:
  convoy_news:
    all: [convoy]
"""


@contextmanager
def monitor(
    feeds: Sequence[str],
    db: str = "sqlite",
    polling: str = "parse_workers: 0",
    alerts: bool = False,
    clock: FakeClock | None = None,
) -> Iterator[App]:
    """A monitor as a user configures it (the test server allowed), in a fresh directory.

    ``alerts`` adds an instant file route; near-duplicates are off so that the
    count of alerts is the count of exact-duplicate decisions under test.
    """
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp, database(db, Path(tmp)) as url:
        base = Path(tmp)
        (base / "watchlists").mkdir()
        (base / "watchlists" / "convoys.yaml").write_text(WATCHLIST)
        routes = "routes:\n  - {name: desk, file: {dir: digests}, schedule: instant}\n"
        text = (
            f"database: {{url: '{url}'}}\n"
            f"polling: {{{polling}}}\n"
            f"network: {{allow_private: ['{ALLOWED_HOST}/32']}}\n"
            "duplicates: {enabled: false}\n"
            "feeds:\n" + "".join(f"  - url: '{u}'\n" for u in feeds) + (routes if alerts else "")
        )
        app = App(config_module.from_text(text, base), clock=clock or FakeClock())
        try:
            app.sync_feeds()
            yield app
        finally:
            app.close()


def poll(app: App, alerts: bool = False) -> CycleReport:
    """One poll of every feed, then (with ``alerts``) matches and alerts, as the daemon does."""

    async def go() -> CycleReport:
        try:
            report = await app.poller.run_cycle(every=True)
            if alerts:
                await app.flow.match()
                await app.flow.alert()
            return report
        finally:
            await app.fetcher.aclose()
            await app.alerts.aclose()

    return asyncio.run(go())


def alerted_titles(app: App) -> Counter[str]:
    """How many times each title was sent, read from the digests the file route wrote."""
    sent: Counter[str] = Counter()
    for path in sorted((app.config.base_dir / "digests").glob("*.json")):
        digest = json.loads(path.read_text(encoding="utf-8"))
        for group in digest["groups"]:
            sent.update(entry["title"] for entry in group["entries"])
    return sent


def health(app: App) -> dict[str, FeedInfo]:
    return {info.source_url: info for info in app.repo.feeds(include_inactive=True)}


def articles(app: App) -> list[dict[str, Any]]:
    return list(app.repo.export_articles())


def urls_of(server: FeedServer, paths: Iterable[str]) -> list[str]:
    return [server.url(path) for path in paths]


def mb(size: float) -> str:
    return f"{size / MB:.1f} MB"


# 1. Address spellings ---------------------------------------------------------

# Ways to write the loopback address the forbidden server listens on.
LOOPBACK_SPELLINGS = (
    "127.0.0.1",
    "2130706433",  # decimal
    "0x7f000001",  # hex
    "0x7f.0.0.1",
    "0177.0.0.1",  # octal
    "017700000001",
    "127.1",  # short forms
    "127.0.1",
    "127.000.000.001",
    "127.0.0.1.",  # trailing dot
    "0",
    "0.0.0.0",
    "localhost",
    "LocalHost",
    "localhost.",
    "evil.example@127.0.0.1",  # user info before the real host
    "%31%32%37.0.0.1",  # percent-encoded
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # full-width digits, folded by IDNA
    "127\u30020\u30020\u30021",  # ideographic full stops: IDNA reads them as dots
    "127\uff0e0\uff0e0\uff0e1",  # full-width full stops
    "127\uff610\uff610\uff611",  # half-width ideographic full stops
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::127.0.0.1]",  # IPv4-compatible (deprecated)
    "[64:ff9b::127.0.0.1]",  # NAT64
    "[64:ff9b::7f00:1]",
    "[64:ff9b:1::7f00:1]",  # NAT64, local-use prefix
    "[2002:7f00:1::]",  # 6to4
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo, client 127.0.0.1
)
# Other non-global ranges: nothing of ours listens there, the fetch must still be refused.
OTHER_SPELLINGS = (
    "169.254.169.254",  # cloud metadata
    "[fe80::1%25lo]",  # link-local with a zone
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # CGNAT
    "198.18.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "[fc00::1]",
    "[fec0::1]",
)


@dataclass(frozen=True)
class SpellingResult:
    host: str
    reached: int  # requests the forbidden server saw under the default policy
    reached_when_allowed: bool  # whether the spelling is a live way to the server at all
    result: FetchResult


def try_spellings() -> list[SpellingResult]:
    """Every spelling fetched with the default policy, then the loopback ones with
    every address allowed: the control that shows which spellings lead to the server."""
    forbidden = FeedServer("127.0.0.1")
    hosts = LOOPBACK_SPELLINGS + OTHER_SPELLINGS
    with serving(forbidden):
        # The same server on ::1 and the same port, so IPv6 spellings lead somewhere too.
        forbidden_v6 = FeedServerAt("::1", forbidden.port)
        with serving(forbidden_v6):
            for server in (forbidden, forbidden_v6):
                server.routes.update({f"/s{i}": feed(rss()) for i in range(len(hosts))})
            urls = [f"http://{host}:{forbidden.port}/s{i}" for i, host in enumerate(hosts)]
            refused = fetch_all(urls)
            reached = forbidden.hits + forbidden_v6.hits
            forbidden.hits.clear()
            forbidden_v6.hits.clear()
            fetch_all(urls[: len(LOOPBACK_SPELLINGS)], AddressPolicy(allow_all=True))
            live = forbidden.hits + forbidden_v6.hits
    return [
        SpellingResult(host, reached[f"/s{i}"], live[f"/s{i}"] > 0, timed.result)
        for i, (host, timed) in enumerate(zip(hosts, refused, strict=True))
    ]


def is_refusal(result: FetchResult) -> bool:
    """A clear refusal: a non-global address, another scheme, or an address no one can read."""
    return result.status == "error" and (result.error or "").startswith("refused")


def is_invalid_location(result: FetchResult) -> bool:
    return "Invalid URL in location header" in (result.error or "")


def is_unresolvable(result: FetchResult) -> bool:
    """A name this machine's resolver does not know ("localhost." here): no way anywhere."""
    return "Name or service not known" in (result.error or "")


def address_spellings(scale: Scale) -> list[Figure]:
    results = try_spellings()
    reached = sum(r.reached for r in results)
    refused = [r for r in results if is_refusal(r.result)]
    unresolvable = [r.host for r in results if is_unresolvable(r.result)]
    live = sum(r.reached_when_allowed for r in results)
    others = [
        f"{r.host}: {r.result.error}"
        for r in results
        if not is_refusal(r.result) and not is_unresolvable(r.result)
    ]
    outcome = (
        f"{reached} requests reached the loopback server ({live} of the "
        f"{len(LOOPBACK_SPELLINGS)} loopback spellings reach it when every address is allowed); "
        f"{len(refused)} of {len(results)} refused"
    )
    if unresolvable:
        outcome += f", {', '.join(unresolvable)} not resolvable on this machine"
    if others:
        outcome += f"; neither: {'; '.join(others)}"
    return [
        Figure(
            area="fetching",
            hazard="Feed URL on a non-global address: decimal, hex, octal, short, IDNA dots "
            "(127。0。0。1, ．, ｡), IPv4-mapped, NAT64, 6to4, Teredo, link-local, private, CGNAT, "
            "localhost",
            tries=len(results),
            outcome=outcome,
            target="0 requests reach it; each refused with a clear error",
            met=reached == 0 and not others,
        )
    ]


# 2. Redirects and schemes -----------------------------------------------------


def redirect_targets(forbidden: FeedServer, allowed: FeedServer) -> dict[str, str]:
    port = forbidden.port
    return {
        "302 to loopback": forbidden.url("/secret"),
        "301 to localhost": f"http://localhost:{port}/secret",
        "307 to decimal 2130706433": f"http://2130706433:{port}/secret",
        "308 to [::ffff:127.0.0.1]": f"http://[::ffff:127.0.0.1]:{port}/secret",
        "302 to an allowed hop, then loopback": allowed.url("/hop"),
        "302 to file:///etc/passwd": "file:///etc/passwd",
        # Locations no URL parser reads: the client rejects them before any hop.
        "302 to a broken IPv6 literal": "http://[::1",
        "302 to octal 0177.0.0.1": f"http://0177.0.0.1:{port}/secret",
        "302 to full-width digits": f"http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}/",
    }


def redirects_to_forbidden(scale: Scale) -> list[Figure]:
    allowed, forbidden = FeedServer(ALLOWED_HOST), FeedServer("127.0.0.1")
    forbidden.routes["/secret"] = feed(rss({"guid": "s", "title": "secret"}))
    with serving(allowed, forbidden):
        targets = redirect_targets(forbidden, allowed)
        allowed.routes["/hop"] = redirect(forbidden.url("/secret"))
        for i, (name, target) in enumerate(targets.items()):
            allowed.routes[f"/r{i}"] = redirect(target, int(name[:3]))
        urls = [allowed.url(f"/r{i}") for i in range(len(targets))] * scale.runs
        results = fetch_all(urls)
        hits = sum(forbidden.hits.values())
    refused = sum(is_refusal(t.result) for t in results)
    invalid = sum(is_invalid_location(t.result) for t in results)
    return [
        Figure(
            area="fetching",
            hazard="Redirect from an allowed server to a forbidden one (loopback, localhost, "
            "decimal, octal, IPv4-mapped, full-width, two hops, file:, a broken URL)",
            tries=len(results),
            outcome=f"{hits} requests reached the forbidden server; {refused} of "
            f"{len(results)} refused at the hop, {invalid} rejected as an invalid Location",
            target="0 requests reach it; each refused",
            met=hits == 0 and refused + invalid == len(results),
        )
    ]


def file_scheme_in_config(scale: Scale) -> list[Figure]:
    try:
        config_module.from_text("feeds:\n  - url: file:///etc/passwd\n", ROOT)
        error = "accepted"
    except ConfigError as exc:
        error = exc.message
    [fetched] = fetch_all(["file:///etc/passwd"])
    clear = "expected an http or https URL" in error and is_refusal(fetched.result)
    return [
        Figure(
            area="fetching",
            hazard="file:///etc/passwd as a feed URL (configuration, and given to the fetcher)",
            tries=2,
            outcome=f"configuration: {error.splitlines()[0]}; fetcher: {fetched.result.error}",
            target="a clear error, nothing read",
            met=clear,
        )
    ]


# 3. DNS rebinding -------------------------------------------------------------


class RebindingDns(AbstractResolver):
    """A name server under an attacker's control: its answers take turns.

    127.0.0.2 stands for the harmless global address of a rebinding attack (it
    is the one address the policy allows); 127.0.0.1 is the target.
    """

    def __init__(self, answers: Sequence[tuple[str, ...]]) -> None:
        self._answers = cycle(answers)
        self.given: list[tuple[str, ...]] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = next(self._answers)
        self.given.append(addresses)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def dns_rebinding(scale: Scale) -> list[Figure]:
    forbidden = FeedServer("127.0.0.1")
    with serving(forbidden):
        allowed = FeedServerAt(ALLOWED_HOST, forbidden.port)
        for server in (allowed, forbidden):
            server.routes.update({f"/r{i}": feed(rss()) for i in range(scale.runs * 4)})
        with serving(allowed):
            # Answers alternate, and every other one lists the target first.
            dns = RebindingDns(
                [(ALLOWED_HOST,), ("127.0.0.1",), ("127.0.0.1", ALLOWED_HOST), ("127.0.0.1",)]
            )
            # A new name each time, as an attacker's wildcard domain gives: no
            # answer comes from the fetcher's DNS cache.
            urls = [f"http://r{i}.rebind.test:{forbidden.port}/r{i}" for i in range(scale.runs * 4)]
            results = fetch_all(urls, dns=lambda: dns)
    hits, reached_allowed = sum(forbidden.hits.values()), sum(allowed.hits.values())
    loopback_only = sum(answer == ("127.0.0.1",) for answer in dns.given)
    refused = sum(is_refusal(t.result) for t in results)
    return [
        Figure(
            area="fetching",
            hazard="DNS rebinding: a name whose answers alternate between an allowed "
            "address and loopback (also both in one answer)",
            tries=len(results),
            outcome=f"{hits} requests reached loopback; {reached_allowed} reached the allowed "
            f"address; {refused} of the {loopback_only} loopback-only answers refused",
            target="0 requests reach loopback",
            met=hits == 0 and refused == loopback_only and len(dns.given) == len(results),
        )
    ]


# 4. Decompression bombs and endless bodies -----------------------------------


@functools.cache
def raw_deflate_zeros(size: int) -> bytes:
    """``size`` zero bytes as one raw deflate stream (a thousandth of that), made once."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = bytes(MB)
    return b"".join(compressor.compress(block) for _ in range(size // MB)) + compressor.flush()


def _checksum(function: Callable[[bytes, int], int], start: int, size: int) -> int:
    block, value = bytes(MB), start
    for _ in range(size // MB):
        value = function(block, value)
    return value


def zlib_bomb(size: int) -> bytes:
    """The raw stream in zlib's wrapping (RFC 1950): one compression serves three bombs."""
    adler = _checksum(zlib.adler32, 1, size)
    return b"\x78\xda" + raw_deflate_zeros(size) + adler.to_bytes(4, "big")


def gzip_zeros(size: int) -> bytes:
    """The raw stream in gzip's wrapping (RFC 1952)."""
    crc = _checksum(zlib.crc32, 0, size)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = crc.to_bytes(4, "little") + (size % 2**32).to_bytes(4, "little")
    return header + raw_deflate_zeros(size) + trailer


def declared_huge() -> Handler:
    """An endless body that declares its (absurd) length up front."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        response.content_length = 10**12
        await response.prepare(request)
        while True:
            await response.write(b"<item>" * 1000)

    return handler


def bombs() -> dict[str, Handler]:
    gzipped = gzip_zeros(BOMB_SIZE)
    inflated = f"{BOMB_SIZE // MB} MiB"
    return {
        f"gzip ({len(gzipped) // 1024} KB inflating to {inflated})": encoded(gzipped, "gzip"),
        f"stacked 'gzip, gzip' ({inflated} twice compressed)": encoded(
            gzip.compress(gzipped), "gzip, gzip"
        ),
        f"deflate, zlib-wrapped ({inflated})": encoded(zlib_bomb(BOMB_SIZE), "deflate"),
        f"deflate, raw ({inflated})": encoded(raw_deflate_zeros(BOMB_SIZE), "deflate"),
        "brotli (not offered in Accept-Encoding)": encoded(os.urandom(4096), "br"),
        "endless body": endless(),
        "endless body declaring 1 TB": declared_huge(),
    }


@dataclass(frozen=True)
class MemoryUse:
    growth: int  # peak resident set minus the resident set before the fetches, in bytes
    errors: tuple[str, ...]
    kinds: tuple[str, ...]


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def measure_fetch_memory(urls: Sequence[str], warm_url: str, runs: int) -> list[MemoryUse]:
    """In this (fresh) process: ``runs`` fetches of each URL, and how far the resident
    set rose above what it was just before; the peak mark is reset for each URL
    (Linux's clear_refs), so one process measures every bomb on its own."""

    async def one(fetcher: HttpFetcher, url: str) -> MemoryUse:
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) := now (VmRSS)
        before = _status_kib("VmRSS")
        feeds = [Feed(id=i, url=url, policy=ALLOW_TEST_SERVER) for i in range(runs)]
        results = [await fetcher.fetch(f) for f in feeds]
        growth = max(_status_kib("VmHWM") - before, 0) * 1024
        errors = tuple(r.error or "" for r in results)
        return MemoryUse(growth, errors, tuple(r.error_kind or r.status for r in results))

    async def go() -> list[MemoryUse]:
        fetcher = HttpFetcher(HttpSettings(timeout_s=30, max_body=MAX_BODY), SystemClock())
        try:
            await fetcher.fetch(Feed(id=0, url=warm_url, policy=ALLOW_TEST_SERVER))
            return [await one(fetcher, url) for url in urls]
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def decompression_bombs(scale: Scale) -> list[Figure]:
    server = FeedServer(ALLOWED_HOST)
    named = bombs()
    server.routes.update({f"/b{i}": handler for i, handler in enumerate(named.values())})
    server.routes["/warm"] = encoded(gzip.compress(rss({"guid": "1", "title": "t"})), "gzip")
    with serving(server):
        # A process that does nothing but fetch: the test process holds the bombs.
        urls = [server.url(f"/b{i}") for i in range(len(named))]
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.reliability.fetching",
                server.url("/warm"),
                str(scale.runs),
                *urls,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
    uses = [
        MemoryUse(u["growth"], tuple(u["errors"]), tuple(u["kinds"]))
        for u in json.loads(child.stdout)
    ]
    return [bomb_figure(name, use) for name, use in zip(named, uses, strict=True)]


def bomb_figure(name: str, use: MemoryUse) -> Figure:
    refused = all(kind in ("too_large", "error") for kind in use.kinds)
    return Figure(
        area="fetching",
        hazard=f"Decompression bomb: {name}",
        tries=len(use.kinds),
        outcome=f"peak RSS +{mb(use.growth)} (a process that only fetches, "
        f"body cap {mb(MAX_BODY)}); error: {use.errors[0]}",
        target=f"≤ cap + {mb(MEMORY_SLACK)}; refused",
        met=use.growth <= MAX_BODY + MEMORY_SLACK and refused,
    )


# 5. Slow servers --------------------------------------------------------------


def slow_servers(scale: Scale) -> list[Figure]:
    server = FeedServer(ALLOWED_HOST)
    server.routes["/drip"] = drip(rss({"guid": "1", "title": "slow"}), 1.0)
    server.routes["/stall"] = stall()
    # Room for every try at once: a fetch waiting for a slot has not started its deadline.
    tries = 2 * scale.runs
    settings = HttpSettings(timeout_s=DEADLINE_S, per_host=tries, concurrency=tries)
    with serving(server):
        urls = [server.url("/drip")] * scale.runs + [server.url("/stall")] * scale.runs
        results = fetch_all(urls, settings=settings)
    return [
        slow_figure("Slow drip: 1 byte a second", results[: scale.runs]),
        slow_figure("Stalled socket: accepts, never answers", results[scale.runs :]),
    ]


def slow_figure(hazard: str, results: Sequence[Timed]) -> Figure:
    longest = max(t.seconds for t in results)
    timed_out = all(t.result.error_kind == "timeout" for t in results)
    return Figure(
        area="fetching",
        hazard=hazard,
        tries=len(results),
        outcome=f"gave up after {longest:.2f} s at most (deadline {DEADLINE_S:g} s); "
        f"error: {results[0].result.error}",
        target="≤ deadline + 1 s",
        met=timed_out and longest <= DEADLINE_S + 1,
    )


# 6. Hostile feed documents ----------------------------------------------------


def expanding_entity_feed() -> bytes:
    """A 12 KB feed that feedparser's "safe" entities would grow to a 5 MB field."""
    return (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "' + "a" * 10_000 + '">]>'
        '<rss version="2.0"><channel><title>Laughs</title><item><guid>1</guid>'
        "<title>" + "&x;" * 500 + "</title><description>" + "&x;" * 500 + "</description>"
        "</item></channel></rss>"
    ).encode()


def backtracking_author_feed() -> bytes:
    """feedparser issue #562: its e-mail regex backtracks on this author (seconds per item)."""
    author = "a@" + "a." * 16_000 + "!"
    return rss(*({"guid": str(i), "title": "x", "author": author} for i in range(3)))


def many_entries_feed(count: int = 100_000) -> bytes:
    return rss(*({"guid": str(i), "title": f"Item {i}"} for i in range(count)))


def huge_summary_feed() -> bytes:
    return rss({"guid": "1", "title": "Huge", "description": "convoy " * 1_400_000})


def long_url_feed() -> bytes:
    link = "https://news.example/" + "a" * 5_000
    return rss({"guid": "1", "title": "Long URL", "link": link, "description": STORY})


HOSTILE_DOCUMENTS: dict[str, Callable[[], bytes]] = {
    "Billion laughs and an external entity (fixture)": (DATA / "hostile-entities.xml").read_bytes,
    "A 12 KB feed whose entities expand to 5 MB": expanding_entity_feed,
    "A 10 MB summary": huge_summary_feed,
    "A 5 KB URL": long_url_feed,
    # Last, as a parse that passes its deadline costs the next one a new worker.
    "100,000 entries": many_entries_feed,
    "feedparser ReDoS: a crafted author (its issue #562)": backtracking_author_feed,
}


@dataclass(frozen=True)
class ParseOutcome:
    seconds: float
    parsed: ParsedFeed | None
    error: str | None

    def largest_field(self) -> int:
        entries = self.parsed.entries if self.parsed else ()
        sizes = [len(v) for e in entries for v in (e.title, e.summary, e.content, e.url or "")]
        return max(sizes, default=0)

    def within_limits(self, limits: Limits) -> bool:
        entries = self.parsed.entries if self.parsed else ()
        return len(entries) <= limits.max_entries and all(
            len(e.title) <= limits.title
            and len(e.summary) <= limits.summary
            and len(e.content) <= limits.content
            and len(e.url or "") <= limits.url
            for e in entries
        )


def parse_in_pool(documents: Sequence[bytes]) -> list[ParseOutcome]:
    """Each document through a real parse worker process with the scenarios' deadline."""

    async def go() -> list[ParseOutcome]:
        pool = ParsePool(workers=1, timeout_s=PARSE_DEADLINE_S, limits=Limits())
        try:
            # The worker's start-up is not the document's parse time.
            await pool.parse(rss(), None, "https://x.example/", FakeClock().now())
            return [await timed_parse(pool, body) for body in documents]
        finally:
            pool.close()

    return asyncio.run(go())


async def timed_parse(pool: ParsePool, body: bytes) -> ParseOutcome:
    started = time.monotonic()
    try:
        parsed = await pool.parse(body, None, "https://feeds.example/feed", FakeClock().now())
        return ParseOutcome(time.monotonic() - started, parsed, None)
    except ParseError as exc:
        return ParseOutcome(time.monotonic() - started, None, exc.message)


def hostile_documents(scale: Scale) -> list[Figure]:
    names = list(HOSTILE_DOCUMENTS)
    bodies = [HOSTILE_DOCUMENTS[name]() for name in names]
    # The last document is a plain feed: the pool still works after a kill.
    outcomes = parse_in_pool([*bodies, rss({"guid": "1", "title": "after"})])
    recovered = outcomes[-1].parsed is not None
    return [
        document_figure(name, outcome, recovered)
        for name, outcome in zip(names, outcomes, strict=False)
    ]


def document_figure(name: str, outcome: ParseOutcome, recovered: bool) -> Figure:
    entries = len(outcome.parsed.entries) if outcome.parsed else 0
    if outcome.parsed:
        dropped = outcome.parsed.dropped_entries
        largest = outcome.largest_field()
        what = f"{entries} entries kept, {dropped} dropped, largest field {largest:,} chars"
    else:
        what = f"error: {outcome.error}"
    return Figure(
        area="parsing",
        hazard=name,
        tries=1,
        outcome=f"{outcome.seconds:.2f} s; {what}"
        + ("" if recovered else "; the pool did not recover"),
        target=f"≤ {PARSE_DEADLINE_S + 0.5:g} s (parse deadline {PARSE_DEADLINE_S:g} s); "
        f"fields capped or a clear error",
        met=outcome.seconds <= PARSE_DEADLINE_S + 0.5
        and outcome.within_limits(Limits())
        and recovered,
    )


# 7. Odd bytes and oversized fields, stored ------------------------------------

STORED_FIXTURES: dict[str, Callable[[], bytes]] = {
    "nul": (DATA / "nul-bytes.xml").read_bytes,
    "charset": (DATA / "wrong-charset.xml").read_bytes,
    "long-url": long_url_feed,
    "huge-summary": huge_summary_feed,
}


def odd_bytes_stored(scale: Scale) -> list[Figure]:
    server = FeedServer(ALLOWED_HOST)
    server.routes.update({f"/{name}": feed(make()) for name, make in STORED_FIXTURES.items()})
    with serving(server):
        urls = [server.url(f"/{name}") for name in STORED_FIXTURES]
        return [store_on(kind, urls) for kind in ("sqlite", "postgresql")]


def store_on(kind: str, urls: Sequence[str]) -> Figure:
    with monitor(urls, db=kind) as app:
        report = poll(app)
        stored = articles(app)
    texts = [str(a.get(k) or "") for a in stored for k in ("title", "summary", "url")]
    no_nul = not any("\x00" in t or "\ufffd\ufffd" in t for t in texts)
    longest_url = max(len(str(a.get("url") or "")) for a in stored)
    longest_summary = max(len(str(a.get("summary") or "")) for a in stored)
    ok = report.count("ok")
    return Figure(
        area="parsing",
        hazard=f"NUL bytes, invalid UTF-8, a wrong charset, a 5 KB URL and a 10 MB summary, "
        f"stored on {'SQLite' if kind == 'sqlite' else 'PostgreSQL'}",
        tries=len(urls),
        outcome=f"{ok} of {len(urls)} feeds stored, {len(stored)} articles; no NUL; "
        f"URL kept whole ({longest_url:,} chars); summary capped at {longest_summary:,} chars",
        target="every feed stored, clean text, capped fields",
        met=ok == len(urls)
        and len(stored) == len(urls)
        and no_nul
        and longest_url > 5_000
        and longest_summary <= Limits().summary,
    )


# 8. Absurd dates ---------------------------------------------------------------

ABSURD_DATES = {
    "31 Feb": "Sat, 31 Feb 2024 10:00:00 +0000",
    "year 2099": "Thu, 01 Jan 2099 00:00:00 +0000",
    "offset +2500": "Fri, 08 Nov 2024 10:00:00 +2500",
    "two days ahead": "Sun, 10 Nov 2024 12:00:00 +0000",
    "year 1900": "Mon, 01 Jan 1900 00:00:00 +0000",
    "not a date": "yesterday-ish",
    "no date": "",
}


def absurd_dates(scale: Scale) -> list[Figure]:
    items = [
        {"guid": name, "title": f"Dated {name}", "description": story(200 + n)}
        | ({"pubDate": value} if value else {})
        for n, (name, value) in enumerate(ABSURD_DATES.items())
    ]
    server = FeedServer(ALLOWED_HOST)
    server.routes["/dates"] = feed(rss(*items))
    with serving(server), monitor([server.url("/dates")]) as app:
        poll(app)
        now = app.clock.now()
        rows = articles(app)
    stored = {a["guid"]: datetime.fromisoformat(a["published"]) for a in rows}
    first_seen = sum(not a["published_from_feed"] for a in rows)
    ahead = max(stored.values()) - now
    sane = all(OLDEST <= p <= now + timedelta(days=1) for p in stored.values())
    return [
        Figure(
            area="parsing",
            hazard="Absurd dates: 31 Feb, year 2099, offset +2500, two days ahead, 1900, "
            "not a date, none",
            tries=len(ABSURD_DATES),
            outcome=f"{len(stored)} stored, {first_seen} dated when first seen; latest "
            f"published time {_hours(ahead)} from now, earliest {min(stored.values()):%Y-%m-%d}",
            target="every one stored; never more than 1 day ahead; none before 1995",
            met=len(stored) == len(ABSURD_DATES) and sane,
        )
    ]


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:+.1f} h"


# 9. Missing and colliding GUIDs -----------------------------------------------


def story(n: int) -> str:
    """A story text of its own (near-duplicates are off; exact keys decide)."""
    rng = random.Random(n)
    words = [
        rng.choice(["north", "east", "river", "bridge", "rail", "port", "hill"]) for _ in range(30)
    ]
    return f"Convoy report {n}: " + " ".join(words) + f". Filed as number {n}."


def guid_feeds() -> dict[str, list[dict[str, str]]]:
    """Two feeds whose GUIDs are missing, shared inside a feed and across feeds."""
    return {
        "/a": [
            {
                "guid": "1",
                "title": "Story 1",
                "link": "https://a.example/1",
                "description": story(1),
            },
            # The same GUID for another story (some CMSs reuse a GUID per day).
            {
                "guid": "1",
                "title": "Story 2",
                "link": "https://a.example/2",
                "description": story(2),
            },
            {"title": "Story 3", "link": "https://a.example/3", "description": story(3)},
            {"title": "Story 4", "description": story(4)},
            {
                "guid": "5",
                "title": "Story 5",
                "link": "https://a.example/5",
                "description": story(5),
            },
        ],
        "/b": [
            # Feed a's GUID for an unrelated story of its own.
            {
                "guid": "1",
                "title": "Story 6",
                "link": "https://b.example/6",
                "description": story(6),
            },
            # Story 1 again, under another GUID and a tracking parameter.
            {
                "guid": "b-1",
                "title": "Story 1, via b",
                "link": "https://a.example/1?utm_source=b",
                "description": story(1),
            },
        ],
    }


def shuffled(items: list[dict[str, str]]) -> Handler:
    """A feed whose items come in a new order on every poll."""
    rng = random.Random(7)

    async def handler(request: web.Request) -> web.StreamResponse:
        order = rng.sample(items, len(items))
        return web.Response(body=rss(*order), content_type="application/rss+xml")

    return handler


def colliding_guids(scale: Scale) -> list[Figure]:
    server = FeedServer(ALLOWED_HOST)
    feeds = guid_feeds()
    server.routes.update({path: shuffled(items) for path, items in feeds.items()})
    polls, clock = scale.runs + 1, FakeClock()
    # ``with`` starts the server before it reads the URLs: the port is known.
    with serving(server), monitor(urls_of(server, feeds), alerts=True, clock=clock) as app:
        poll(app, alerts=True)
        [deleted] = [a["id"] for a in articles(app) if a["title"] == "Story 5"]
        app.repo.delete_article(deleted, text_keys)  # it keeps coming in the feed
        for _ in range(polls - 1):
            clock.advance(hours=1)
            poll(app, alerts=True)
        stored = Counter(story_of(a["title"]) for a in articles(app))
        sent: Counter[str] = Counter()
        for title, times in alerted_titles(app).items():
            sent[story_of(title)] += times
    expected = {f"Story {n}" for n in (1, 2, 3, 4, 6)}
    return [
        Figure(
            area="parsing",
            hazard="Missing GUIDs, one GUID for two stories in a feed and across feeds, "
            "a copy under another GUID, an entry that returns after deletion",
            tries=polls,
            outcome=f"{len(stored)} stories stored, at most {max(stored.values())} article each; "
            f"alerts per story at most {max(sent.values())}, {len(sent)} stories alerted; "
            f"deleted story stored again: {'yes' if 'Story 5' in stored else 'no'}",
            target="each story stored once, alerted at most once; deleted stays deleted",
            met=set(stored) == expected
            and max(stored.values()) == 1
            and set(sent) == expected | {"Story 5"}
            and max(sent.values()) == 1,
        )
    ]


def story_of(title: str) -> str:
    return title.split(",")[0]


# 10. A body that churns on every poll ------------------------------------------


def churning(item: dict[str, str]) -> Handler:
    """The same item on every poll, with a view counter and a time that always change."""
    views = iter(range(1000, 10**9, 37))

    async def handler(request: web.Request) -> web.StreamResponse:
        n = next(views)
        stamp = f"12:{n % 60:02d}:{n % 59:02d}"
        text = f"{item['description']} Viewed {n} times. Page generated at {stamp}."
        body = rss(item | {"description": text})
        return web.Response(body=body, content_type="application/rss+xml")

    return handler


CHURNING_ITEMS = {
    "/guid": {"guid": "c1", "title": "Churn with a GUID", "description": story(11)},
    "/link": {
        "title": "Churn with a link",
        "link": "https://c.example/2",
        "description": story(12),
    },
    "/bare": {"title": "Churn with neither", "description": story(13)},
}


def churning_bodies(scale: Scale) -> list[Figure]:
    server = FeedServer(ALLOWED_HOST)
    server.routes.update({path: churning(item) for path, item in CHURNING_ITEMS.items()})
    polls, clock = scale.runs + 2, FakeClock()
    with serving(server), monitor(urls_of(server, CHURNING_ITEMS), alerts=True, clock=clock) as app:
        for _ in range(polls):
            poll(app, alerts=True)
            clock.advance(hours=1)
        stored = Counter(a["title"] for a in articles(app))
        sent = alerted_titles(app)
    titles = [item["title"] for item in CHURNING_ITEMS.values()]
    return [
        Figure(
            area="parsing",
            hazard="A body that changes on every poll (view counter, time): "
            "with a GUID, with only a link, with neither",
            tries=polls * len(titles),
            outcome="articles per item: "
            + ", ".join(f"{stored[t]}" for t in titles)
            + "; alerts per item: "
            + ", ".join(f"{sent[t]}" for t in titles),
            target="1 article and at most 1 alert per item",
            met=all(stored[t] == 1 and sent[t] <= 1 for t in titles) and sum(sent.values()) > 0,
        )
    ]


# A mixed run: hostile feeds next to a healthy one, through the whole pipeline --

HOSTILE_FEEDS: dict[str, tuple[str, str]] = {
    # path: (status recorded, words in the error recorded on that feed)
    "/gzip-bomb": ("too_large", "too large"),
    "/stacked": ("error", "stacked"),
    "/endless": ("too_large", "too large"),
    "/drip": ("timeout", "timed out"),
    "/stall": ("timeout", "timed out"),
    "/always-500": ("http_500", "HTTP 500"),
    "/redirect-home": ("blocked", "refused"),
    "/redos": ("parse_error", "still parsing"),
    "/not-a-feed": ("parse_error", "not a feed"),
}


def hostile_routes(forbidden: FeedServer) -> dict[str, Handler]:
    gzipped = gzip_zeros(BOMB_SIZE)
    return {
        "/gzip-bomb": encoded(gzipped, "gzip"),
        "/stacked": encoded(gzip.compress(gzipped), "gzip, gzip"),
        "/endless": endless(),
        "/drip": drip(rss({"guid": "1", "title": "slow"}), 1.0),
        "/stall": stall(),
        "/always-500": status(500),
        "/redirect-home": redirect(forbidden.url("/admin")),
        "/redos": feed(backtracking_author_feed()),
        "/not-a-feed": feed(b"<html>hello</html>", content_type="text/html"),
    }


def healthy() -> Handler:
    """A feed that has one more story on every poll."""
    polls = iter(range(1, 10**6))

    async def handler(request: web.Request) -> web.StreamResponse:
        count = next(polls)
        items = [
            {"guid": f"h{i}", "title": f"Healthy {i}", "description": story(100 + i)}
            for i in range(count)
        ]
        return web.Response(body=rss(*items), content_type="application/rss+xml")

    return handler


@dataclass(frozen=True)
class MixedRun:
    cycles: int
    seconds: float  # the longest cycle
    healthy_new: tuple[int, ...]  # new articles of the healthy feed, per cycle
    wrong: tuple[str, ...]  # hostile feeds whose recorded state is not what it should be
    forbidden_hits: int


def mixed_run(cycles: int) -> MixedRun:
    server, forbidden = FeedServer(ALLOWED_HOST), FeedServer("127.0.0.1")
    forbidden.routes["/admin"] = feed(rss())
    server.routes.update(hostile_routes(forbidden))
    server.routes["/healthy"] = healthy()
    # Two parse workers, as by default on a machine with two or more cores.
    polling = f"parse_workers: 2, timeout: {DEADLINE_S:g}s, parse_timeout: {PARSE_DEADLINE_S:g}s"
    with serving(server, forbidden):
        urls = [
            server.url("/healthy"),
            *(server.url(p) for p in HOSTILE_FEEDS),
            forbidden.url("/feed"),
        ]
        with monitor(urls, polling=polling) as app:
            new, longest = [], 0.0
            for _ in range(cycles):
                report = poll(app)
                longest = max(longest, report.wall_s)
                new += [f.counts.new for f in report.feeds if f.url == server.url("/healthy")]
            states = health(app)
    expected = {server.url(p): want for p, want in HOSTILE_FEEDS.items()}
    expected[forbidden.url("/feed")] = ("blocked", "refused")
    wrong = tuple(
        f"{url}: {states[url].status} {states[url].last_error!r}"
        for url, (kind, words) in expected.items()
        if states[url].status != kind
        or words not in (states[url].last_error or "")
        or states[url].error_count != cycles
    )
    return MixedRun(cycles, longest, tuple(new), wrong, sum(forbidden.hits.values()))


def mixed_feeds(scale: Scale) -> list[Figure]:
    run = mixed_run(cycles=2)
    return [
        Figure(
            area="fetching",
            hazard=f"One healthy feed among {len(HOSTILE_FEEDS) + 1} hostile ones "
            "(bombs, drip, stall, 500, redirect home, ReDoS, not a feed, loopback), whole pipeline",
            tries=run.cycles,
            outcome=f"healthy feed new articles per cycle: {list(run.healthy_new)}; "
            f"hostile feeds with the wrong error: {len(run.wrong)}"
            + (f" ({'; '.join(run.wrong)})" if run.wrong else "")
            + f"; longest cycle {run.seconds:.1f} s",
            target="the healthy feed updates each cycle; each error on its own feed",
            met=run.healthy_new == (1,) * run.cycles and not run.wrong and run.forbidden_hits == 0,
        )
    ]


SCENARIOS = (
    address_spellings,
    redirects_to_forbidden,
    file_scheme_in_config,
    dns_rebinding,
    decompression_bombs,
    slow_servers,
    mixed_feeds,
    hostile_documents,
    odd_bytes_stored,
    absurd_dates,
    colliding_guids,
    churning_bodies,
)


def _child(argv: Sequence[str]) -> None:
    """``python -m tests.reliability.fetching WARM_URL RUNS URL...``: memory per URL, as JSON."""
    warm_url, runs, *urls = argv
    uses = measure_fetch_memory(urls, warm_url, int(runs))
    print(json.dumps([asdict(use) for use in uses]))


if __name__ == "__main__":
    _child(sys.argv[1:])
