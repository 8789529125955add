"""Shared fixtures: both databases, loopback feed servers, a clock that tests move."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.feedserver import FeedServer
from tests.model import model_dir  # noqa: F401 (a fixture for every folder: the real model)

POSTGRES = os.environ.get("MONITOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]


def sample_copy(tmp: Path) -> Path:
    """The quick start's set-up (monitor.yaml, the sample feeds, watchlists, templates)
    copied under ``tmp``: a command run there writes its database and digests there,
    never into the user's checkout."""
    target = tmp / "sample"
    target.mkdir(exist_ok=True)
    shutil.copy(ROOT / "monitor.yaml", target)
    for folder in ("corpus/feeds", "watchlists", "alerts"):
        shutil.copytree(ROOT / folder, target / folder, dirs_exist_ok=True)
    return target


class FakeClock:
    def __init__(self, start: datetime = datetime(2024, 11, 8, 12, 0, tzinfo=UTC)) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _postgres_or_skip() -> psycopg.Connection:
    try:
        return psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {POSTGRES}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    admin = _postgres_or_skip()
    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """Each storage test runs on SQLite and on the local PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/monitor.db"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A feed server on 127.0.0.2: tests allow exactly that address."""
    srv = FeedServer("127.0.0.2").start()
    yield srv
    srv.stop()


@pytest.fixture
def forbidden() -> Iterator[FeedServer]:
    """A server on 127.0.0.1 that no fetch may reach: it counts hits."""
    srv = FeedServer("127.0.0.1").start()
    yield srv
    srv.stop()
