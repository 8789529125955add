"""HTTP fetching with httpx (on the aiohttp transport, for speed), hardened.

Per request: at most ``concurrency`` in flight and ``per_host`` per host; one
wall-clock deadline over every hop and every byte (httpx's own timeouts are per
read, which a 1 byte/s server defeats); redirects followed by hand so each hop's
scheme and address are checked; conditional GET; the body decoded under a cap.

A 304 poll is little more than the client's own work, so the per-request path is
kept lean: one client per address policy, one TLS context for all of them, the
request built once from precomputed headers and timeouts (``build_request`` would
merge the client's defaults again each time), cookie bookkeeping only when a
response sets a cookie, and the response headers decoded once.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import ssl
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import ThreadedResolver
from httpx_aiohttp import AiohttpTransport

from monitor import __version__
from monitor.core.clock import Clock, retry_after
from monitor.core.errors import BlockedAddressError, FeedError, FetchTimeoutError, TooLargeError
from monitor.core.printable import error_line
from monitor.core.types import AddressPolicy, Feed, FetchResult
from monitor.fetch.decode import ACCEPT_ENCODING, BoundedDecoder
from monitor.fetch.netguard import host_address, ip_allowed
from monitor.fetch.resolver import GuardedResolver, RefusedAddress, guarded_sockets

USER_AGENT = f"monitor/{__version__} (news monitor; +https://github.com/monitor-news/monitor)"
REDIRECTS = {301, 302, 303, 307, 308}
PERMANENT = {301, 308}


@dataclass(frozen=True)
class HttpSettings:
    timeout_s: float = 30.0
    max_body: int = 10 * 2**20
    concurrency: int = 20
    per_host: int = 4
    max_redirects: int = 5
    user_agent: str = USER_AGENT


class HttpFetcher:
    def __init__(
        self,
        settings: HttpSettings,
        clock: Clock,
        dns: Callable[[], AbstractResolver] = ThreadedResolver,
    ) -> None:
        self.settings = settings
        self.clock = clock
        # The name service behind the address guard: the system's, or in the
        # reliability tests one that changes its answer (DNS rebinding).
        self._dns = dns
        self._clients: dict[AddressPolicy, httpx.AsyncClient] = {}
        # One per process: loading the CA store takes ~20 ms, which the transport
        # spent on a context of its own for every client, so in every cycle.
        self._tls = tls_context()
        # Every request's headers: httpx's defaults with ours, as build_request
        # merged them anew for each request.
        self._headers = (
            ("Accept", "*/*"),
            ("Accept-Encoding", ACCEPT_ENCODING),
            ("Connection", "keep-alive"),
            ("User-Agent", settings.user_agent),
        )
        self._extensions = {"timeout": httpx.Timeout(settings.timeout_s).as_dict()}
        self._new_limits()

    def _new_limits(self) -> None:
        # Like the clients, the semaphores belong to one event loop: aclose() renews them.
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        self._host_slots: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.settings.per_host)
        )

    async def fetch(self, feed: Feed) -> FetchResult:
        host = urlsplit(feed.url).hostname or ""
        async with self._slots, self._host_slots[host]:
            try:
                async with asyncio.timeout(self.settings.timeout_s):
                    return await self._follow(feed)
            except TimeoutError:
                return _failed(
                    FetchTimeoutError(
                        f"timed out: no complete answer within {self.settings.timeout_s:g} s"
                    )
                )
            except FeedError as exc:
                # Turned into a result here, never kept in a local: the traceback refers
                # to this frame, so ``error = exc`` made a cycle that held the frames of
                # the failed read, with up to max_body of decoded bytes, until the cyclic
                # collector ran (+10 MB of RSS per gzip bomb fetched, tests/reliability).
                return _failed(exc)

    async def _follow(self, feed: Feed) -> FetchResult:
        url, moved_to, all_permanent = feed.url, None, True
        for _ in range(self.settings.max_redirects + 1):
            response = await self._send(url, feed)
            if response.status_code not in REDIRECTS:
                return await self._result(response, feed, moved_to)
            await _close(response)
            target = response.headers.get("location")
            if not target:
                raise FeedError(f"HTTP {response.status_code} without a Location header")
            url = urljoin(url, target)
            # Only a chain of permanent redirects moves the feed for good.
            all_permanent = all_permanent and response.status_code in PERMANENT
            moved_to = url if all_permanent else moved_to
        raise FeedError(f"more than {self.settings.max_redirects} redirects")

    async def _send(self, url: str, feed: Feed) -> httpx.Response:
        # The URL object checked is the one requested: no second parse to differ.
        checked = check_hop(url, feed.policy)
        headers = list(self._headers)
        if feed.etag:
            headers.append(("If-None-Match", feed.etag))
        if feed.last_modified:
            headers.append(("If-Modified-Since", feed.last_modified))
        if checked.userinfo:
            # httpx made a header of them and left them in the URL as well, which
            # aiohttp refuses: the header alone, to the hop whose URL carries them.
            headers.append(("Authorization", _basic_auth(checked)))
            checked = checked.copy_with(userinfo=b"")
        client = self._client(feed.policy)
        try:
            request = httpx.Request("GET", checked, headers=headers, extensions=self._extensions)
            if client.cookies:
                client.cookies.set_cookie_header(request)
            return await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _wrap(exc, url) from exc

    async def _result(
        self, response: httpx.Response, feed: Feed, moved_to: str | None
    ) -> FetchResult:
        try:
            status = response.status_code
            # Decoded once: each httpx Headers lookup decodes and scans every header.
            headers = dict(response.headers.items())
            base = FetchResult(
                status="error",
                http_status=status,
                moved_to=moved_to,
                retry_after_s=retry_after(headers.get("retry-after"), self.clock.now()),
                max_age_s=max_age(headers.get("cache-control")),
            )
            if status == 304:
                return replace(
                    base,
                    status="not_modified",
                    etag=headers.get("etag") or feed.etag,
                    last_modified=headers.get("last-modified") or feed.last_modified,
                )
            if status == 410:
                gone = "HTTP 410 Gone: the publisher removed this feed; polling stopped"
                return replace(base, status="gone", error=gone, error_kind="gone")
            if not 200 <= status < 300:
                # The reason phrase is the server's text: no escapes reach a terminal.
                error = error_text(f"HTTP {status} {response.reason_phrase or ''}")
                return replace(base, error=error, error_kind=f"http_{status}")
            return replace(
                base,
                status="ok",
                body=await self._read(response, headers),
                content_type=headers.get("content-type"),
                etag=headers.get("etag"),
                last_modified=headers.get("last-modified"),
            )
        finally:
            await _close(response)

    async def _read(self, response: httpx.Response, headers: Mapping[str, str]) -> bytes:
        declared = headers.get("content-length") or ""
        plain = "content-encoding" not in headers
        if plain and declared.isdigit() and int(declared) > self.settings.max_body:
            limit = self.settings.max_body
            raise TooLargeError(f"too large: {declared} bytes declared, limit {limit}")
        decoder = BoundedDecoder(headers.get("content-encoding"), self.settings.max_body)
        try:
            async for chunk in response.aiter_raw():
                decoder.feed(chunk)
        except httpx.HTTPError as exc:
            raise _wrap(exc, str(response.url)) from exc
        return decoder.result()

    def _client(self, policy: AddressPolicy) -> httpx.AsyncClient:
        """One client per address policy, made on first use: its resolver enforces that policy."""
        client = self._clients.get(policy)
        if client is None:
            client = self._clients[policy] = _Client(
                # The transport is given the shared context so it builds none of its own.
                transport=AiohttpTransport(verify=self._tls, client=lambda: self._session(policy)),
                headers=dict(self._headers),
                follow_redirects=False,
                trust_env=False,
                timeout=httpx.Timeout(self.settings.timeout_s),
            )
        return client

    def _session(self, policy: AddressPolicy) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(policy, self._dns()),
            # aiohttp resolves no IP literal: each socket is checked as it is made.
            socket_factory=guarded_sockets(policy),
            limit=self.settings.concurrency,
            limit_per_host=self.settings.per_host,
            ttl_dns_cache=60,
            ssl=self._tls,
        )
        return aiohttp.ClientSession(
            connector=connector,
            trust_env=False,
            auto_decompress=False,
            # Cookies are kept by the httpx client's jar only, not by a second one here.
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
        self._new_limits()


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Certificate-verifying TLS for every client: the system's CA store, HTTP/1.1."""
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context


class _Cookies(httpx.Cookies):
    """A cookie jar that skips its work for the many responses that set no cookie.

    httpx hands every response to the jar, which wraps request and response in
    urllib's models first: more than the rest of a 304's header handling.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _Client(httpx.AsyncClient):
    """An httpx client whose cookie jar is a ``_Cookies``."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._jar = _Cookies(options.get("cookies"))

    @property
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._jar = _Cookies(cookies)


_CLOSED = httpx.ByteStream(b"")


async def _close(response: httpx.Response) -> None:
    """Close ``response`` and let reference counting free it.

    httpx's response and the stream it wraps refer to each other, so each
    response (with its request, headers and the aiohttp response, ~40 objects)
    would otherwise wait for the cyclic garbage collector: tens of milliseconds
    of collections in a 304 cycle of 1,000 feeds.
    """
    await response.aclose()
    response.stream = _CLOSED


def check_hop(url: str, policy: AddressPolicy) -> httpx.URL:
    """Scheme and address check for one hop, before any connection.

    IP literals, numeric IPv4 forms and localhost names are judged here; other
    names by the resolver, and every socket again as it is opened.

    The host judged is the one the client connects to: httpx's own parse, which
    applies IDNA (UTS 46) and so reads ``169。254．169｡254`` as 169.254.169.254.
    urllib's reading of the same URL is a name, which slipped past this check.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        # The client could not send it either (0177.0.0.1, full-width digits).
        raise FeedError(f"refused: not a valid URL ({exc}): {url}") from exc
    if parsed.scheme not in ("http", "https"):
        scheme = parsed.scheme or "a bare path"
        raise BlockedAddressError(f"refused: only http and https are fetched, not {scheme}: {url}")
    host = parsed.host
    if not host:
        raise FeedError(f"refused: no host in URL: {url}")
    address = host_address(host)
    if address is None and "%" in host:
        # No DNS name has one; browsers decode it (%31%32%37.0.0.1 is 127.0.0.1).
        raise FeedError(f"refused: not a valid host name: {url}")
    if address is not None and not ip_allowed(address, policy):
        spelled = host if host.strip("[]") == str(address) else f"{host} ({address})"
        raise BlockedAddressError(f"refused: {spelled} is a non-global address")
    return parsed


def refusal(url: str, policy: AddressPolicy) -> str | None:
    """Why ``url`` would not be fetched before any connection, or None: for
    ``feeds add`` and OPML import, so a refused URL is never stored."""
    try:
        check_hop(url, policy)
    except FeedError as exc:
        return error_text(exc.message)
    return None


def error_text(message: str) -> str:
    """A fetch error as stored and shown: one line, no control characters, no secrets."""
    return error_line(message)


def _basic_auth(url: httpx.URL) -> str:
    credentials = f"{url.username}:{url.password}".encode()
    return "Basic " + base64.b64encode(credentials).decode("ascii")


def _failed(error: FeedError) -> FetchResult:
    return FetchResult(status="error", error=error_text(error.message), error_kind=error.kind)


def _wrap(exc: httpx.HTTPError, url: str) -> FeedError:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, RefusedAddress):
            return BlockedAddressError(str(cause))
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.UnsupportedProtocol):
        return BlockedAddressError(f"refused: {exc}")
    return FeedError(f"{type(exc).__name__}: {exc or 'connection failed'} ({url})")


def max_age(value: str | None) -> float | None:
    if not value:
        return None
    for directive in value.lower().split(","):
        name, _, arg = directive.strip().partition("=")
        if name in ("max-age", "s-maxage") and arg.strip().strip('"').isdigit():
            return float(arg.strip().strip('"'))
    return None
