"""The daemon's HTTP surface, as an operator and a person meet it: a real daemon, real Chromium."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer

from monitor.core.errors import StorageError
from monitor.web.metrics import Metrics
from monitor.web.server import OpsServer
from tests.conftest import FakeClock
from tests.processes import start_monitor, stop

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROKEN_WATCHLIST = "name: draft\nactors:\n  iran: {any: [Iran, Tehran}\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[str]:
    """The quick start's daemon with its HTTP endpoint on; yields its base URL once ready."""
    shutil.copy(ROOT / "monitor.yaml", tmp_path)
    shutil.copytree(ROOT / "corpus" / "feeds", tmp_path / "corpus" / "feeds")
    shutil.copytree(ROOT / "watchlists", tmp_path / "watchlists")
    # A user's half-done edit: refused, named on the status page, the others run.
    (tmp_path / "watchlists" / "draft.yaml").write_text(BROKEN_WATCHLIST)
    port = free_port()
    env = {"MONITOR_HTTP_ENABLED": "true", "MONITOR_HTTP_PORT": str(port)}
    process = start_monitor(tmp_path, "run", env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _delivered(base), 60)
        yield base
    finally:
        assert stop(process).returncode == 0


def _delivered(base: str) -> bool:
    try:
        return 'monitor_outbox{state="sent"} 1.0' in httpx.get(f"{base}/metrics").text
    except httpx.HTTPError:
        return False


def _wait_for(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the daemon did not get there in time"
        time.sleep(0.2)


def test_health_readiness_and_metrics_of_a_running_daemon(daemon: str) -> None:
    assert httpx.get(f"{daemon}/healthz").json()["status"] == "alive"
    ready = httpx.get(f"{daemon}/readyz")
    assert ready.status_code == 200 and ready.json() == {
        "status": "ready",
        "scheduler": True,
        "database": True,
    }
    metrics = httpx.get(f"{daemon}/metrics").text
    for line in (
        'monitor_polls_total{outcome="ok"} 5.0',
        "monitor_articles_ingested_total 18.0",
        "monitor_articles 18.0",
        'monitor_duplicates_total{kind="near"} 3.0',
        'monitor_matches_total{watchlist="north-korea-russia"} 15.0',
        'monitor_digests_built_total{kind="digest"} 1.0',
        'monitor_deliveries_total{outcome="sent"} 1.0',
        "monitor_feeds_in_error 0.0",
        "monitor_delivery_lag_seconds 0.0",
        "monitor_fetch_seconds_count 5.0",
    ):
        assert line in metrics


@pytest.mark.skipif(not CHROMIUM and not os.environ.get("CI"), reason="needs Debian's chromium")
def test_the_status_page_shows_feeds_and_deliveries_in_a_browser(
    daemon: str, tmp_path: Path
) -> None:
    assert CHROMIUM, "CI installs chromium (.ci/run)"
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1100,1000"]
    dom = subprocess.run(
        [*browser, "--dump-dom", f"{daemon}/"], capture_output=True, text=True, timeout=60
    ).stdout
    for text in ("Global Wire", "NewsFarm Daily", "Digests and deliveries", "4 stories: NATO"):
        assert text in dom
    for text in ("1 watchlist file refused", "draft.yaml:3", "north-korea-russia", "in force"):
        assert text in dom
    shot = tmp_path / "status.png"
    subprocess.run([*browser, f"--screenshot={shot}", f"{daemon}/"], timeout=60, check=True)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000  # a page, not a blank


def test_readiness_fails_when_the_database_does_not_answer() -> None:
    class Unreachable:
        def ping(self) -> None:
            raise StorageError("database unreachable: connection refused")

    async def ask() -> tuple[int, dict[str, Any]]:
        metrics = Metrics.__new__(Metrics)  # not scraped here
        server = OpsServer(Unreachable(), metrics, FakeClock(), "w", lambda: True)  # type: ignore[arg-type]
        async with TestClient(TestServer(server.app())) as client:
            response = await client.get("/readyz")
            return response.status, await response.json()

    status, body = asyncio.run(ask())
    assert status == 503 and body["database"] is False and body["scheduler"] is True
