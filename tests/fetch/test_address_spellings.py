"""Every spelling of a forbidden address is refused: as a feed URL, as a redirect
target and in an OPML import, against real loopback servers that count hits.

The guard must judge the host the HTTP client connects to, normalised the
client's way: httpx folds IDNA dots (U+3002, U+FF0E, U+FF61) and full-width
characters into a plain IPv4 literal, which a guard reading the raw host with
urllib took for a name.
"""

from __future__ import annotations

from collections.abc import Iterator
from html import escape
from pathlib import Path

import pytest

from monitor.core.addresses import to_policy
from monitor.core.errors import BlockedAddressError, FeedError
from monitor.fetch.http import check_hop
from tests.cli.test_commands import monitor, write_config
from tests.feedserver import FeedServer, feed, redirect, rss
from tests.reliability.fetching import (
    LOOPBACK_SPELLINGS,
    OTHER_SPELLINGS,
    FeedServerAt,
    fetch_all,
    is_refusal,
    is_unresolvable,
    serving,
)

IDEOGRAPHIC, FULLWIDTH, HALFWIDTH = "\u3002", "\uff0e", "\uff61"

# Spellings of 127.0.0.1 that only IDNA (UTS 46) turns into the address.
IDNA_SPELLINGS = (
    f"127{IDEOGRAPHIC}0{IDEOGRAPHIC}0{IDEOGRAPHIC}1",
    f"127{FULLWIDTH}0{FULLWIDTH}0{FULLWIDTH}1",
    f"127{HALFWIDTH}0{HALFWIDTH}0{HALFWIDTH}1",
    f"127.0{IDEOGRAPHIC}0.1",  # dots mixed
    f"127{IDEOGRAPHIC}0{IDEOGRAPHIC}0{IDEOGRAPHIC}1{IDEOGRAPHIC}",  # trailing IDNA dot
    "\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11",  # full-width digits and dots
    f"localhost{IDEOGRAPHIC}",
    "\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54",  # full-width "localhost"
    f"evil.example@127{FULLWIDTH}0{FULLWIDTH}0{FULLWIDTH}1",
)
SPELLINGS = LOOPBACK_SPELLINGS + IDNA_SPELLINGS + OTHER_SPELLINGS


@pytest.fixture
def forbidden_both() -> Iterator[tuple[FeedServer, FeedServer]]:
    """The forbidden server on 127.0.0.1 and on ::1 at the same port, counting hits."""
    v4 = FeedServer("127.0.0.1")
    with serving(v4):
        v6 = FeedServerAt("::1", v4.port)
        with serving(v6):
            yield v4, v6


def _serve_everywhere(servers: tuple[FeedServer, FeedServer], path: str) -> None:
    for server in servers:
        server.routes[path] = feed(rss({"guid": "s", "title": "secret"}))


def _hits(servers: tuple[FeedServer, FeedServer]) -> int:
    return sum(sum(server.hits.values()) for server in servers)


def test_idna_spellings_are_live_ways_to_the_server(
    forbidden_both: tuple[FeedServer, FeedServer],
) -> None:
    # The control: with every address allowed, the IDNA spellings do reach the
    # server, so refusing them below is what protects it.
    _serve_everywhere(forbidden_both, "/feed")
    port = forbidden_both[0].port
    results = fetch_all(
        [f"http://{host}:{port}/feed" for host in IDNA_SPELLINGS[:3]], to_policy(True)
    )
    assert [t.result.status for t in results] == ["ok"] * 3


def test_no_spelling_of_a_forbidden_address_is_fetched_as_a_feed(
    forbidden_both: tuple[FeedServer, FeedServer],
) -> None:
    _serve_everywhere(forbidden_both, "/feed")
    port = forbidden_both[0].port
    results = fetch_all([f"http://{host}:{port}/feed" for host in SPELLINGS])
    assert _hits(forbidden_both) == 0
    unclear = [
        f"{host}: {t.result.error}"
        for host, t in zip(SPELLINGS, results, strict=True)
        if not is_refusal(t.result) and not is_unresolvable(t.result)
    ]
    assert unclear == []
    # Those the client reads as 127.0.0.1 are refused as that address.
    by_host = dict(zip(SPELLINGS, results, strict=True))
    read_as_loopback = [*IDNA_SPELLINGS[:4], IDNA_SPELLINGS[-1]]
    assert [by_host[h].result.error for h in read_as_loopback] == [
        "refused: 127.0.0.1 is a non-global address"
    ] * 5


def test_no_redirect_reaches_a_forbidden_address(
    server: FeedServer, forbidden_both: tuple[FeedServer, FeedServer]
) -> None:
    _serve_everywhere(forbidden_both, "/secret")
    port = forbidden_both[0].port
    for i, host in enumerate(SPELLINGS):
        server.routes[f"/r{i}"] = redirect(f"http://{host}:{port}/secret", 301 + i % 2)
    results = fetch_all([server.url(f"/r{i}") for i in range(len(SPELLINGS))])
    assert _hits(forbidden_both) == 0
    assert all(t.result.status == "error" for t in results)
    assert sum(server.hits.values()) == len(SPELLINGS)


@pytest.mark.parametrize(
    "url",
    [
        f"http://169{FULLWIDTH}254{FULLWIDTH}169{FULLWIDTH}254/",
        f"http://169{IDEOGRAPHIC}254{IDEOGRAPHIC}169{IDEOGRAPHIC}254/latest/meta-data/",
        f"http://169{HALFWIDTH}254{HALFWIDTH}169{HALFWIDTH}254/",
        f"http://10{IDEOGRAPHIC}0{IDEOGRAPHIC}0{IDEOGRAPHIC}1:8080/feed.xml",
        f"https://user:pw@192{FULLWIDTH}168{FULLWIDTH}1{FULLWIDTH}1/",
        "http://[::ffff:169.254.169.254]/",
        "http://\uff11\uff16\uff19.254.169.254/",
    ],
)
def test_check_hop_judges_the_host_the_client_connects_to(url: str) -> None:
    with pytest.raises(FeedError):
        check_hop(url, to_policy(False))


def test_check_hop_names_the_normalised_address() -> None:
    with pytest.raises(BlockedAddressError, match=r"169\.254\.169\.254"):
        check_hop(f"http://169{FULLWIDTH}254{FULLWIDTH}169{FULLWIDTH}254/", to_policy(False))


def test_check_hop_still_admits_allowed_and_global_addresses() -> None:
    check_hop(f"http://127{IDEOGRAPHIC}0{IDEOGRAPHIC}0{IDEOGRAPHIC}1/", to_policy(True))
    check_hop(f"http://8{FULLWIDTH}8{FULLWIDTH}8{FULLWIDTH}8/", to_policy(False))
    check_hop("https://example.com/feed", to_policy(False))


def test_feeds_import_and_add_refuse_forbidden_addresses(tmp_path: Path) -> None:
    refused = [f"http://{host}:8080/feed.xml" for host in SPELLINGS] + [
        f"http://169{FULLWIDTH}254{FULLWIDTH}169{FULLWIDTH}254/latest/meta-data/",
        f"http://10{HALFWIDTH}0{HALFWIDTH}0{HALFWIDTH}1/",
    ]
    outlines = "".join(
        f'<outline text="x{i}" xmlUrl="{escape(u, quote=True)}"/>' for i, u in enumerate(refused)
    )
    opml = tmp_path / "subs.opml"
    opml.write_text(
        f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}'
        '<outline type="rss" text="ok" xmlUrl="https://news.example/feed.xml"/></body></opml>',
        encoding="utf-8",
    )
    write_config(tmp_path)
    result = monitor("feeds", "import", str(opml), cwd=tmp_path)
    assert "1 new" in result.stdout and f"{len(refused)} skipped" in result.stdout
    followed = monitor("feeds", "export", cwd=tmp_path).stdout
    assert followed.count("xmlUrl=") == 1 and "https://news.example/feed.xml" in followed
    for url in (refused[len(LOOPBACK_SPELLINGS)], "http://2130706433/", "http://localhost/"):
        added = monitor("feeds", "add", url, cwd=tmp_path, check=False)
        assert added.returncode != 0 and "refused" in added.stderr + added.stdout
