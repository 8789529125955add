"""The HTTP surface against hostile browsers and curious readers, on a real server.

DNS rebinding (a foreign ``Host:``), framing and sniffing (the headers of every
response), an optional bearer token for the status page and ``/metrics``, and
feed URLs whose passwords and tokens must not show on the page.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from monitor.core.types import AddressPolicy, FeedSpec, PollUpdate
from monitor.store.repository import Repository
from monitor.web.access import Access, host_allowed, token_matches
from monitor.web.metrics import Metrics
from monitor.web.server import OpsServer
from tests.cli.test_commands import write_config
from tests.conftest import FakeClock
from tests.processes import start_monitor, stop
from tests.web.test_web import free_port

NOW = datetime(2024, 11, 8, 12, 0, tzinfo=UTC)
TOKEN = "s3cr3t-t0ken-for-the-status-page"
SECRET_FEED = "https://reader:S3cretPW@feeds.example/rss?token=T0kenValue&apikey=K3yValue&page=2"
SECRETS = ("S3cretPW", "T0kenValue", "K3yValue")


class RunningServer:
    """An OpsServer on a real loopback port, on an event loop of its own."""

    def __init__(self, repo: Repository, access: Access | None) -> None:
        clock = FakeClock(NOW)
        self.server = OpsServer(
            repo, Metrics(repo, clock), clock, "w1", lambda: True, tuple, access
        )
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> RunningServer:
        self._thread.start()
        self._run(self.server.start("127.0.0.1", self.port))
        return self

    def __exit__(self, *exc: object) -> None:
        self._run(self.server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _run(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)  # type: ignore[arg-type]

    def get(self, path: str, **headers: str) -> httpx.Response:
        return httpx.get(self.base + path, headers=headers, timeout=10)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    repository = Repository.open(f"sqlite:///{tmp_path}/monitor.db")
    repository.add_feed(FeedSpec(url=SECRET_FEED), "cli", NOW)
    [feed] = repository.due_feeds(NOW, 10, AddressPolicy())
    error = f"ConnectError: connection refused ({SECRET_FEED})"
    update = PollUpdate(
        feed_id=feed.id,
        status="error",
        polled_at=NOW,
        next_poll_at=NOW + timedelta(minutes=5),
        error=error,
        error_count=1,
    )
    repository.save_poll(feed, update, [])
    yield repository
    repository.close()


@pytest.fixture
def open_server(repo: Repository) -> Iterator[RunningServer]:
    with RunningServer(repo, None) as running:
        yield running


@pytest.fixture
def token_server(repo: Repository) -> Iterator[RunningServer]:
    with RunningServer(repo, Access.of("127.0.0.1", ["monitor.internal"], TOKEN)) as running:
        yield running


PATHS = ["/", "/metrics", "/healthz", "/readyz", "/no-such-page"]


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_security_headers(open_server: RunningServer, path: str) -> None:
    for response in (open_server.get(path), open_server.get(path, Host="evil.example")):
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp  # no script at all, by default-src
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_page_style_is_allowed_by_its_nonce_only(open_server: RunningServer) -> None:
    first, second = open_server.get("/"), open_server.get("/")
    nonces = []
    for response in (first, second):
        csp = response.headers["Content-Security-Policy"]
        nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
        assert f'<style nonce="{nonce}">' in response.text
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8080",
        "127.0.0.1.evil.example",
        "localhost.evil.example:80",
        "127.0.0.2",
        "[::2]:8080",
        "<script>alert(1)</script>",
    ],
)
@pytest.mark.parametrize("path", ["/", "/metrics", "/no-such-page"])
def test_a_foreign_host_name_is_misdirected(
    open_server: RunningServer, host: str, path: str
) -> None:
    response = open_server.get(path, Host=host)
    assert response.status_code == 421
    assert host not in response.text and "evil" not in response.text
    assert "monitor_polls" not in response.text and "Feeds" not in response.text


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.1:{port}", "localhost", "LOCALHOST:{port}", "[::1]:{port}"]
)
def test_the_server_answers_to_its_own_names(open_server: RunningServer, host: str) -> None:
    response = open_server.get("/", Host=host.format(port=open_server.port))
    assert response.status_code == 200 and "Feeds" in response.text


def test_health_probes_answer_any_host_and_need_no_token(token_server: RunningServer) -> None:
    # Orchestrators probe by the pod's address, with no secret.
    for path in ("/healthz", "/readyz"):
        assert token_server.get(path, Host="10.1.2.3:8080").status_code == 200


@pytest.mark.parametrize("path", ["/", "/metrics", "/no-such-page"])
def test_the_token_guards_the_page_and_the_metrics(token_server: RunningServer, path: str) -> None:
    refused = [
        token_server.get(path),
        token_server.get(path, Authorization="Bearer wrong-token-of-some-length"),
        token_server.get(path, Authorization=f"Bearer {TOKEN[:-1]}"),
        token_server.get(path, Authorization=f"Bearer {TOKEN}x"),
        token_server.get(path, Authorization=TOKEN),
    ]
    for response in refused:
        assert response.status_code == 401
        assert TOKEN not in response.text
        assert "monitor_polls" not in response.text and "Feeds" not in response.text
    assert refused[0].headers.get_list("WWW-Authenticate")[0].startswith("Bearer")
    expected = 404 if path == "/no-such-page" else 200
    assert token_server.get(path, Authorization=f"Bearer {TOKEN}").status_code == expected


def test_a_browser_signs_in_with_the_token_as_password(token_server: RunningServer) -> None:
    basic = base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
    response = token_server.get("/", Authorization=f"Basic {basic}", Host="monitor.internal:8443")
    assert response.status_code == 200 and "Feeds" in response.text


def test_the_host_is_checked_before_the_token(token_server: RunningServer) -> None:
    response = token_server.get("/", Authorization=f"Bearer {TOKEN}", Host="evil.example")
    assert response.status_code == 421


def test_feed_urls_and_errors_on_the_page_hide_their_secrets(open_server: RunningServer) -> None:
    page = open_server.get("/").text
    assert "feeds.example/rss?token=***&amp;apikey=***&amp;page=2" in page
    assert "reader:***@" in page
    assert "ConnectError: connection refused" in page
    for secret in SECRETS:
        assert secret not in page


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ("localhost", True),
        ("localhost.", True),
        ("LocalHost:8080", True),
        ("127.0.0.1:65535", True),
        ("[::1]", True),
        ("[::1]:8080", True),
        ("monitor.internal", True),
        ("localhost:80:80", False),
        ("localhost:x", False),
        ("[::1]x", False),
        ("localhost\u3002", False),
        ("", False),
        (None, False),
    ],
)
def test_host_allowed(header: str | None, allowed: bool) -> None:
    hosts = Access.of("0.0.0.0", ["Monitor.Internal."]).hosts
    assert host_allowed(header, hosts) is allowed


def test_a_wildcard_bind_is_no_host_name() -> None:
    assert "0.0.0.0" not in Access.of("0.0.0.0").hosts
    assert "192.168.1.5" in Access.of("192.168.1.5").hosts
    assert host_allowed("anything.example", Access.of("127.0.0.1", ["*"]).hosts)


@pytest.mark.parametrize(
    ("authorization", "ok"),
    [
        (f"Bearer {TOKEN}", True),
        (f"bearer   {TOKEN} ", True),
        (f"Basic {base64.b64encode(f'u:{TOKEN}'.encode()).decode()}", True),
        (f"Basic {base64.b64encode(TOKEN.encode()).decode()}", False),
        ("Basic !!!", False),
        (f"Token {TOKEN}", False),
        ("Bearer", False),
        (None, False),
    ],
)
def test_token_matches(authorization: str | None, ok: bool) -> None:
    assert token_matches(authorization, TOKEN) is ok


def test_the_daemon_takes_its_token_and_names_from_the_environment(tmp_path: Path) -> None:
    write_config(tmp_path)
    port = free_port()
    env = {
        "MONITOR_HTTP_ENABLED": "true",
        "MONITOR_HTTP_PORT": str(port),
        "MONITOR_HTTP_TOKEN": TOKEN,
        "MONITOR_HTTP_ALLOWED_HOSTS": "monitor.internal, status.example",
    }
    process = start_monitor(tmp_path, "run", env=env, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.2)
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(f"{base}/metrics").status_code == 401
        assert httpx.get(f"{base}/metrics", headers=bearer).status_code == 200
        named = {**bearer, "Host": "status.example"}
        assert httpx.get(f"{base}/", headers=named).status_code == 200
        assert httpx.get(f"{base}/", headers={**bearer, "Host": "evil.example"}).status_code == 421
    finally:
        stopped = stop(process)
    assert stopped.returncode == 0
    assert TOKEN.encode() not in stopped.stderr
