"""Fixtures: SMTP and webhook receivers, started before and stopped after each test."""

from tests.receivers import (  # noqa: F401 (fixtures, found by name)
    smtp_credentials,
    smtp_implicit,
    smtp_plain,
    smtp_starttls,
    webhook_receiver,
)
