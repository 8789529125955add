"""Secrets never shown: passwords and token parameters masked wherever a URL is printed."""

from __future__ import annotations

import pytest

from monitor.core.redact import redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://monitor:S3cr3tPW@db:5432/news", "postgresql://monitor:***@db:5432/news"),
        ("https://user:pa%40ss@feeds.example/rss", "https://user:***@feeds.example/rss"),
        ("https://ghp_abc123@feeds.example/rss", "https://***@feeds.example/rss"),
        ("https://f.example/rss?token=abc&page=2", "https://f.example/rss?token=***&page=2"),
        (
            "https://f.example/rss?apikey=1&api_key=2&x_api_key=3",
            "https://f.example/rss?apikey=***&api_key=***&x_api_key=***",
        ),
        ("https://f.example/rss?access_token=a#top", "https://f.example/rss?access_token=***#top"),
        (
            "https://f.example/rss?monkey=1&keyword=nato",
            "https://f.example/rss?monkey=1&keyword=nato",
        ),
        ("https://f.example/rss", "https://f.example/rss"),
    ],
)
def test_secrets_are_masked_and_the_rest_kept(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_urls_inside_messages_are_masked() -> None:
    message = "connection to postgresql://u:hunter2@db/x failed; retry https://h/f?token=t1"
    assert redact_text(message) == (
        "connection to postgresql://u:***@db/x failed; retry https://h/f?token=***"
    )
    assert "hunter2" not in redact_text(message)
