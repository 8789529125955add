"""The HTTP fetcher against a real loopback server that misbehaves on purpose."""

from __future__ import annotations

import asyncio
import base64
import gc
import ssl
import time
import tracemalloc
from ipaddress import ip_network

import httpx
import pytest
from aiohttp import web

from monitor.core.types import AddressPolicy, Feed, FetchResult
from monitor.fetch.http import HttpFetcher, HttpSettings, tls_context
from tests.conftest import FakeClock
from tests.feedserver import (
    FeedServer,
    double_gzip,
    drip,
    encoded,
    endless,
    feed,
    gzip_bomb,
    redirect,
    rss,
    stall,
    status,
)

ONLY_TEST_SERVER = AddressPolicy(networks=(ip_network("127.0.0.2/32"),))
BODY = rss({"guid": "1", "title": "One", "link": "https://a.example/1"})


def fetch(url: str, settings: HttpSettings | None = None, **feed_fields: object) -> FetchResult:
    async def go() -> FetchResult:
        fetcher = HttpFetcher(settings or HttpSettings(timeout_s=5), FakeClock())
        try:
            return await fetcher.fetch(Feed(id=1, url=url, policy=ONLY_TEST_SERVER, **feed_fields))  # type: ignore[arg-type]
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def test_a_feed_is_fetched_with_its_validators_and_a_clear_user_agent(server: FeedServer) -> None:
    server.routes["/feed"] = feed(
        BODY, etag='"abc"', headers={"Last-Modified": "Fri, 08 Nov 2024 10:00:00 GMT"}
    )
    result = fetch(server.url("/feed"))
    assert (result.status, result.body, result.etag) == ("ok", BODY, '"abc"')
    assert result.last_modified == "Fri, 08 Nov 2024 10:00:00 GMT"
    assert server.requests[0]["User-Agent"].startswith("monitor/")
    assert server.requests[0]["Accept-Encoding"] == "gzip, deflate"


def test_every_client_verifies_certificates_with_one_shared_context() -> None:
    context = tls_context()
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert tls_context() is context


def test_conditional_get_sends_validators_and_304_has_no_body(server: FeedServer) -> None:
    server.routes["/feed"] = feed(BODY, etag='"abc"')
    result = fetch(server.url("/feed"), etag='"abc"', last_modified="Fri, 08 Nov 2024 10:00:00 GMT")
    assert (result.status, result.body, result.etag) == ("not_modified", None, '"abc"')
    assert server.requests[0]["If-Modified-Since"] == "Fri, 08 Nov 2024 10:00:00 GMT"


def test_a_permanent_redirect_reports_the_new_url(server: FeedServer) -> None:
    server.routes["/old"] = redirect(server.url("/new"), 301)
    server.routes["/new"] = feed(BODY)
    result = fetch(server.url("/old"))
    assert result.status == "ok"
    assert result.moved_to == server.url("/new")


def test_a_temporary_redirect_does_not_move_the_feed(server: FeedServer) -> None:
    server.routes["/old"] = redirect(server.url("/new"), 302)
    server.routes["/new"] = feed(BODY)
    assert fetch(server.url("/old")).moved_to is None


def test_a_cookie_set_on_a_redirect_is_sent_once_on_the_next_hop(server: FeedServer) -> None:
    """A consent gate: the feed answers only with the cookie the redirect set."""
    gate = status(302, {"Location": "/feed", "Set-Cookie": "consent=yes; Path=/"})

    async def gated(request: web.Request) -> web.StreamResponse:
        if request.cookies.get("consent") != "yes":
            return await redirect("/gate")(request)
        return await feed(BODY)(request)

    server.routes["/gate"] = gate
    server.routes["/feed"] = gated
    result = fetch(server.url("/gate"))
    assert (result.status, result.body) == ("ok", BODY)
    assert [r["Cookie"] for r in server.requests if r["path"] == "/feed"] == ["consent=yes"]


def test_responses_are_freed_without_the_cycle_collector(server: FeedServer) -> None:
    """Left in reference cycles, every poll's response waits for the collector."""
    server.routes["/feed"] = feed(BODY, etag='"abc"')
    server.routes["/old"] = redirect("/feed")
    urls_and_etags = [("/feed", None), ("/feed", '"abc"'), ("/old", None)]

    async def go() -> list[object]:
        fetcher = HttpFetcher(HttpSettings(timeout_s=5), FakeClock())
        try:
            for path, etag in urls_and_etags:
                feed_ = Feed(id=1, url=server.url(path), policy=ONLY_TEST_SERVER, etag=etag)
                assert (await fetcher.fetch(feed_)).status in ("ok", "not_modified")
            gc.collect()
            client_side = ("httpx", "aiohttp.client")  # not the test server's aiohttp.web
            return [o for o in gc.garbage if type(o).__module__.startswith(client_side)]
        finally:
            await fetcher.aclose()

    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        assert asyncio.run(go()) == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_gone_is_reported_as_gone(server: FeedServer) -> None:
    server.routes["/feed"] = status(410)
    result = fetch(server.url("/feed"))
    assert result.status == "gone" and "410" in (result.error or "")


@pytest.mark.parametrize("code", [429, 503])
def test_throttling_carries_retry_after(server: FeedServer, code: int) -> None:
    server.routes["/feed"] = status(code, {"Retry-After": "3600"})
    result = fetch(server.url("/feed"))
    assert (result.status, result.http_status, result.retry_after_s) == ("error", code, 3600.0)


def test_a_server_error_is_an_error_result_not_an_exception(server: FeedServer) -> None:
    server.routes["/feed"] = status(500)
    result = fetch(server.url("/feed"))
    assert (result.status, result.error_kind) == ("error", "http_500")


@pytest.mark.parametrize("behaviour", [drip(BODY, 1.0), stall()], ids=["slow-drip", "stalled"])
def test_one_deadline_covers_the_whole_request(server: FeedServer, behaviour: object) -> None:
    server.routes["/feed"] = behaviour  # type: ignore[assignment]
    started = time.monotonic()
    result = fetch(server.url("/feed"), HttpSettings(timeout_s=2))
    elapsed = time.monotonic() - started
    assert result.error_kind == "timeout"
    assert elapsed < 2 + 1


def test_a_gzip_bomb_is_refused_without_inflating_it(server: FeedServer) -> None:
    server.routes["/bomb"] = encoded(gzip_bomb(200 * 2**20), "gzip")
    tracemalloc.start()
    try:
        result = fetch(server.url("/bomb"), HttpSettings(timeout_s=10, max_body=2**20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error_kind == "too_large"
    assert peak < 20 * 2**20


def test_stacked_encodings_are_refused(server: FeedServer) -> None:
    server.routes["/feed"] = encoded(double_gzip(BODY), "gzip, gzip")
    result = fetch(server.url("/feed"))
    assert result.status == "error" and "stacked" in (result.error or "")


def test_a_gzipped_feed_is_decoded(server: FeedServer) -> None:
    import gzip

    server.routes["/feed"] = encoded(gzip.compress(BODY), "gzip")
    assert fetch(server.url("/feed")).body == BODY


def test_a_body_without_end_stops_at_the_cap(server: FeedServer) -> None:
    server.routes["/feed"] = endless()
    result = fetch(server.url("/feed"), HttpSettings(timeout_s=10, max_body=2**20))
    assert result.error_kind == "too_large"


def test_a_redirect_to_a_forbidden_address_never_reaches_it(
    server: FeedServer, forbidden: FeedServer
) -> None:
    forbidden.routes["/secret"] = feed(BODY)
    server.routes["/feed"] = redirect(forbidden.url("/secret"))
    result = fetch(server.url("/feed"))
    assert result.error_kind == "blocked"
    assert forbidden.hits["/secret"] == 0


def test_a_hostname_that_resolves_to_loopback_is_refused(forbidden: FeedServer) -> None:
    forbidden.routes["/feed"] = feed(BODY)
    result = fetch(f"http://localhost:{forbidden.port}/feed")
    assert result.error_kind == "blocked"
    assert sum(forbidden.hits.values()) == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/feed", "gopher://x/"])
def test_only_http_and_https_are_fetched(url: str) -> None:
    assert fetch(url).error_kind == "blocked"


def test_per_host_concurrency_is_bounded(server: FeedServer) -> None:
    in_flight = 0
    peak = 0

    async def slow(request: object) -> object:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.2)
        in_flight -= 1
        return await feed(BODY)(request)  # type: ignore[arg-type]

    server.routes["/feed"] = slow  # type: ignore[assignment]

    async def go() -> list[FetchResult]:
        fetcher = HttpFetcher(HttpSettings(timeout_s=10, per_host=2, concurrency=50), FakeClock())
        try:
            feeds = [Feed(id=i, url=server.url("/feed"), policy=ONLY_TEST_SERVER) for i in range(8)]
            return await asyncio.gather(*(fetcher.fetch(f) for f in feeds))
        finally:
            await fetcher.aclose()

    results = asyncio.run(go())
    assert all(r.status == "ok" for r in results)
    assert peak == 2


def test_the_connection_itself_is_guarded_for_ip_literals(forbidden: FeedServer) -> None:
    # check_hop refuses early with a clear message; underneath it, no socket opens
    # to a forbidden address either, although aiohttp asks no resolver for a literal.
    forbidden.routes["/feed"] = feed(BODY)

    async def go() -> str:
        fetcher = HttpFetcher(HttpSettings(timeout_s=5), FakeClock())
        try:
            await fetcher._client(ONLY_TEST_SERVER).get(forbidden.url("/feed"))
        except httpx.TransportError as exc:
            causes = [exc]
            while causes[-1].__cause__ or causes[-1].__context__:
                causes.append(causes[-1].__cause__ or causes[-1].__context__)  # type: ignore[arg-type]
            return " / ".join(str(cause) for cause in causes)
        finally:
            await fetcher.aclose()
        return "connected"

    assert "refused: 127.0.0.1 is a non-global address" in asyncio.run(go())
    assert sum(forbidden.hits.values()) == 0


def test_credentials_in_the_feed_url_are_sent_as_basic_auth(server: FeedServer) -> None:
    # httpx made an Authorization header of them and left them in the URL too,
    # which aiohttp refused: every such feed ended in an internal error.
    server.routes["/private"] = feed(BODY)
    url = server.url("/private").replace("http://", "http://reader:S3cr%3At@")
    result = fetch(url + "?token=abc")
    assert result.status == "ok"
    [request] = server.requests
    assert request["Authorization"] == "Basic " + base64.b64encode(b"reader:S3cr:t").decode()


def test_credentials_are_sent_only_to_the_url_that_carries_them(server: FeedServer) -> None:
    server.routes["/feed"] = redirect(server.url("/next"))
    server.routes["/next"] = feed(BODY)
    result = fetch(server.url("/feed").replace("http://", "http://reader:pw@"))
    assert result.status == "ok"
    assert [("Authorization" in r) for r in server.requests] == [True, False]
