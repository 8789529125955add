"""Fixtures: SMTP and webhook receivers, started before and stopped after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.alerts.receivers import SmtpReceiver, WebhookReceiver

SMTP_AUTH = ("monitor", "s3cret")


@pytest.fixture
def smtp_starttls() -> Iterator[SmtpReceiver]:
    with SmtpReceiver("starttls", auth=SMTP_AUTH) as receiver:
        yield receiver


@pytest.fixture
def smtp_implicit() -> Iterator[SmtpReceiver]:
    with SmtpReceiver("implicit", auth=SMTP_AUTH) as receiver:
        yield receiver


@pytest.fixture
def smtp_plain() -> Iterator[SmtpReceiver]:
    with SmtpReceiver("none") as receiver:
        yield receiver


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp_credentials(monkeypatch: pytest.MonkeyPatch) -> str:
    """The route settings naming the variables that hold the SMTP login (set here)."""
    monkeypatch.setenv("TEST_SMTP_USER", SMTP_AUTH[0])
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_AUTH[1])
    return "username_env: TEST_SMTP_USER, password_env: TEST_SMTP_PASSWORD"
