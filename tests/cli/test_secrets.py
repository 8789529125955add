"""Passwords and tokens in URLs are masked wherever the command line shows a URL;
``feeds export`` keeps them, since its OPML must import back."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import config, monitor

SECRETS = ("S3cr3tPW", "hunter2", "tok-123", "key-456")


def test_check_masks_the_password_of_the_database_url(tmp_path: Path) -> None:
    path = config(tmp_path)
    url = "postgresql://monitor:S3cr3tPW@127.0.0.1:5432/test"
    shown = monitor("--config", str(path), "check", cwd=tmp_path, env={"MONITOR_DATABASE_URL": url})
    assert "postgresql://monitor:***@127.0.0.1:5432/test" in shown.stdout
    assert "S3cr3tPW" not in shown.stdout + shown.stderr


def test_feed_urls_are_shown_without_their_credentials_and_exported_with_them(
    tmp_path: Path,
) -> None:
    path = config(tmp_path)
    url = "https://reader:hunter2@feeds.example/rss?token=tok-123&apikey=key-456&page=2"
    added = monitor("--config", str(path), "feeds", "add", url, cwd=tmp_path)
    listing = monitor("--config", str(path), "feeds", "list", cwd=tmp_path)
    for output in (added.stdout, listing.stdout):
        assert "https://reader:***@feeds.example/rss?token=***&apikey=***&page=2" in output
        assert not any(secret in output for secret in SECRETS)
    exported = monitor("--config", str(path), "feeds", "export", cwd=tmp_path).stdout
    assert "https://reader:hunter2@feeds.example/rss?token=tok-123&amp;apikey=key-456" in exported
