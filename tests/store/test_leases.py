"""Work claimed by a worker that dies comes back to the others when its lease expires."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monitor.core.types import AddressPolicy, FeedSpec
from monitor.store.repository import Repository

NOW = datetime(2024, 11, 8, 12, 0, tzinfo=UTC)


@pytest.fixture
def workers(db_url: str) -> Iterator[tuple[Repository, Repository]]:
    first, second = Repository.open(db_url), Repository.open(db_url)
    yield first, second
    first.close()
    second.close()


def test_a_due_feed_goes_to_one_worker_and_back_when_its_lease_expires(
    workers: tuple[Repository, Repository],
) -> None:
    dead, alive = workers
    for i in range(3):
        dead.add_feed(FeedSpec(url=f"https://news{i}.example/feed"), "cli", NOW)
    claimed = dead.claim_feeds(NOW, 10, AddressPolicy(), lease=lambda n: 2)
    assert len(claimed) == 3
    assert alive.claim_feeds(NOW, 10, AddressPolicy()) == []  # leased: skipped
    time.sleep(3.1)  # the first worker died without saving: its lease runs out
    assert {f.url for f in alive.claim_feeds(NOW, 10, AddressPolicy())} == {f.url for f in claimed}


def test_a_stage_runs_on_one_worker_and_moves_on_when_its_holder_dies(
    workers: tuple[Repository, Repository],
) -> None:
    dead, alive = workers
    assert dead.try_lease("near", "worker-a", seconds=2)
    assert dead.try_lease("near", "worker-a", seconds=2)  # its holder renews
    assert not alive.try_lease("near", "worker-b", seconds=2)
    time.sleep(3.1)
    assert alive.try_lease("near", "worker-b", seconds=2)
    alive.release("near", "worker-b")
    assert dead.try_lease("near", "worker-a", seconds=2)  # released: free at once
