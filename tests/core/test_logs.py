"""No log line carries a feed URL's password or token, whichever event logs it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import structlog

from monitor.core import logs
from tests.cli.test_commands import monitor, write_config
from tests.feedserver import FeedServer, status

SECRETS = ("S3cretPW", "T0kenValue", "K3yValue")


def secret_url(base: str) -> str:
    return base.replace("http://", "http://reader:S3cretPW@") + "?token=T0kenValue&apikey=K3yValue"


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_a_failing_feed_with_credentials_logs_none_of_them(
    tmp_path: Path, server: FeedServer, fmt: str
) -> None:
    server.routes["/feed"] = status(500)
    write_config(tmp_path, secret_url(server.url("/feed")))
    flags = ["--json-logs"] if fmt == "json" else []
    result = monitor(*flags, "run", "--once", cwd=tmp_path, check=False)
    assert server.hits["/feed"] == 1
    assert "reader:***@" in result.stderr and "token=***" in result.stderr
    for secret in SECRETS:
        assert secret not in result.stderr  # the logs (the summary table is the CLI's)


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_every_event_and_traceback_is_redacted(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure(fmt)  # type: ignore[arg-type]
    try:
        log = structlog.get_logger("test")
        url = secret_url("http://feeds.example/rss")
        log.warning("any.event", feed=url, note=f"while reading {url}: failed")
        try:
            raise RuntimeError(f"cannot open {url}")
        except RuntimeError:
            log.exception("feed.internal_error", feed=url)
        logging.getLogger("some.library").warning("retrying %s", url)
        err = capsys.readouterr().err
    finally:
        structlog.reset_defaults()
    assert err.count("reader:***@feeds.example/rss?token=***&apikey=***") >= 4
    assert "RuntimeError" in err
    for secret in SECRETS:
        assert secret not in err
    if fmt == "json":
        lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        assert "Traceback" in lines[1]["exception"]
