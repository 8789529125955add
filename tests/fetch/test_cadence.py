"""next_poll(): a feed's next poll from what its last poll said."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from monitor.core.types import Feed, FetchResult, PollUpdate
from monitor.fetch.cadence import Cadence, next_poll

NOW = datetime(2024, 11, 8, 12, 0, tzinfo=UTC)
CADENCE = Cadence(interval_s=900, min_interval_s=60, max_interval_s=86_400)
FEED = Feed(id=7, url="https://example.com/feed", etag='"v1"', last_modified="Mon, 04 Nov 2024")
OK = FetchResult(status="ok", http_status=200, body=b"<rss/>", etag='"v2"', last_modified="Fri")


def run(
    result: FetchResult,
    feed: Feed = FEED,
    ttl_s: float | None = None,
    error: str | None = None,
    seed: int = 0,
) -> PollUpdate:
    return next_poll(feed, result, NOW, CADENCE, random.Random(seed), ttl_s=ttl_s, error=error)


def wait_s(update: PollUpdate) -> float:
    assert update.next_poll_at is not None
    return (update.next_poll_at - NOW).total_seconds()


def failed(http_status: int, retry_after_s: float | None = None) -> FetchResult:
    return FetchResult(
        status="error",
        http_status=http_status,
        retry_after_s=retry_after_s,
        error=f"HTTP {http_status}",
        error_kind=f"http_{http_status}",
    )


@pytest.mark.parametrize(
    ("result", "feed", "ttl_s", "expected"),
    [
        (OK, FEED, None, 900),
        (OK, Feed(id=7, url="u", interval_s=3600), None, 3600),
        (OK, Feed(id=7, url="u", interval_s=10), None, 60),
        (OK, FEED, 7200, 7200),
        (OK, FEED, 60, 900),
        (OK, FEED, 10**7, 86_400),
        (FetchResult(status="ok", http_status=200, max_age_s=3600), FEED, None, 3600),
        (FetchResult(status="ok", http_status=200, max_age_s=5), FEED, None, 900),
        (FetchResult(status="ok", http_status=200, max_age_s=10**7), FEED, None, 86_400),
        (FetchResult(status="not_modified", http_status=304), FEED, None, 900),
    ],
    ids=[
        "interval",
        "feed interval",
        "feed interval raised to minimum",
        "ttl lengthens",
        "short ttl ignored",
        "ttl capped",
        "max-age lengthens",
        "short max-age ignored",
        "max-age capped",
        "304 at interval",
    ],
)
def test_healthy_wait(
    result: FetchResult, feed: Feed, ttl_s: float | None, expected: float
) -> None:
    update = run(result, feed, ttl_s)
    assert update.active
    assert update.polled_at == NOW
    assert wait_s(update) == expected


def test_success_stores_new_validators() -> None:
    update = run(OK)
    assert (update.status, update.etag, update.last_modified) == ("ok", '"v2"', "Fri")


def test_not_modified_keeps_the_etag() -> None:
    # The fetcher passes the validators it sent when the 304 does not repeat them.
    result = FetchResult(
        status="not_modified", http_status=304, etag=FEED.etag, last_modified=FEED.last_modified
    )
    update = run(result)
    assert (update.status, update.etag, update.last_modified) == (
        "not_modified",
        FEED.etag,
        FEED.last_modified,
    )


def test_not_modified_without_validators_keeps_the_stored_ones() -> None:
    update = run(FetchResult(status="not_modified", http_status=304))
    assert (update.etag, update.last_modified) == (FEED.etag, FEED.last_modified)


def test_not_modified_with_a_new_etag_takes_it() -> None:
    update = run(FetchResult(status="not_modified", http_status=304, etag='"v3"'))
    assert (update.etag, update.last_modified) == ('"v3"', FEED.last_modified)


def test_success_without_validators_forgets_the_old_ones() -> None:
    # The new body has none: sending the old ETag could get a wrong 304.
    update = run(FetchResult(status="ok", http_status=200, body=b"<rss/>"))
    assert (update.etag, update.last_modified) == (None, None)


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("retry_after", [120.0, 7200.0])
def test_no_poll_before_retry_after(status: int, retry_after: float) -> None:
    for seed in range(20):
        assert retry_after <= wait_s(run(failed(status, retry_after), seed=seed)) <= 86_400


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_capped_at_max_interval(status: int) -> None:
    assert wait_s(run(failed(status, 10**7))) == 86_400


@pytest.mark.parametrize("errors_before", range(20))
def test_errors_back_off_exponentially(errors_before: int) -> None:
    feed = Feed(id=7, url="u", error_count=errors_before)
    ceiling = min(60.0 * 2**errors_before, 86_400)
    for seed in range(10):
        update = run(failed(500), feed, seed=seed)
        assert update.error_count == errors_before + 1
        assert ceiling / 2 <= wait_s(update) <= ceiling


def test_back_off_never_shrinks_as_errors_grow() -> None:
    # Below the cap each step's jitter range starts where the previous one ended.
    rng = random.Random(42)
    waits = []
    for n in range(11):
        update = next_poll(Feed(id=7, url="u", error_count=n), failed(500), NOW, CADENCE, rng)
        waits.append(wait_s(update))
    assert waits == sorted(waits)
    assert waits[0] <= 60


def test_back_off_is_jittered() -> None:
    feed = Feed(id=7, url="u", error_count=5)
    assert len({wait_s(run(failed(500), feed, seed=seed)) for seed in range(10)}) > 1


def test_error_keeps_previous_validators() -> None:
    update = run(failed(500))
    assert (update.etag, update.last_modified) == (FEED.etag, FEED.last_modified)
    assert update.error == "HTTP 500"
    assert update.status == "http_500"


def test_success_resets_error_count() -> None:
    update = run(OK, Feed(id=7, url="u", error_count=9))
    assert update.error_count == 0
    assert update.error is None
    assert wait_s(update) == 900


def test_gone_stops_polling() -> None:
    update = run(FetchResult(status="gone", http_status=410, error="gone", error_kind="gone"))
    assert not update.active
    assert update.next_poll_at is None
    assert update.status == "gone"


def test_permanent_redirect_carries_new_url() -> None:
    moved = FetchResult(status="ok", http_status=200, moved_to="https://new.example/feed")
    update = run(moved)
    assert update.new_url == "https://new.example/feed"
    assert update.status == "moved"
    assert wait_s(update) == 900


def test_failed_redirect_does_not_move_the_feed() -> None:
    moved = FetchResult(
        status="error",
        http_status=500,
        moved_to="https://new.example/feed",
        error="HTTP 500",
        error_kind="http_500",
    )
    assert run(moved).new_url is None


def test_redirect_to_an_unparsable_body_does_not_move_the_feed() -> None:
    moved = FetchResult(status="ok", http_status=200, moved_to="https://new.example/feed")
    update = run(moved, error="not a feed")
    assert update.new_url is None
    assert update.status == "parse_error"


def test_parse_error_counts_as_failure() -> None:
    feed = Feed(id=7, url="u", etag='"v1"', error_count=2)
    update = run(OK, feed, error="not a feed")
    assert update.status == "parse_error"
    assert update.error == "not a feed"
    assert update.error_count == 3
    assert 120 <= wait_s(update) <= 240
    # The unusable body's ETag is not kept: the next poll must fetch it again.
    assert update.etag == '"v1"'
