"""What the alert stage is told about each route, as plain frozen values.

``monitor.app`` translates monitor.yaml's ``routes:`` into these (the stage
never reads the configuration): the strings here were validated there.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class MailHeaders:
    """Who an email route's messages are from and to, and how to leave the list."""

    sender: str
    to: tuple[str, ...]
    list_unsubscribe: str | None  # a mailto: or https: address


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteSpec:
    """Which matches go where, when."""

    name: str
    title: str | None
    channel: str  # file, email, webhook, or the chat format a webhook posts
    template: str  # the JSON template of its payload: webhook, or a chat format
    email: MailHeaders | None  # an email route's headers
    # The environment variables its channel reads, by setting
    # ("email.password_env", "SMTP_PASSWORD"): `monitor check` says which are unset.
    secrets: tuple[tuple[str, str], ...]
    watchlists: tuple[str, ...]  # none: all of them
    rules: tuple[str, ...]  # "rule" or "watchlist/rule"; none: all of them
    min_score: float
    schedule: str  # instant, "every 30m" or a cron expression (``alert.schedule``)
    timezone: str
    quiet_hours: str | None
    urgent_score: float | None  # sent at once
    max_entries: int
    max_alerts: int  # instant messages in any alert_window (``alert.flood``)
    alert_window: float  # seconds
    send_empty: bool
