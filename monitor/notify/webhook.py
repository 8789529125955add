"""The webhook channel: JSON posted with httpx, signed per Standard Webhooks.

The signature covers ``webhook-id``, ``webhook-timestamp`` and the body
(HMAC-SHA256, the reference ``standardwebhooks`` package signs); the id stays
the same across retries, the timestamp is the attempt's. Several secrets (a key
rotation) give several signatures. Chat formats (Slack, Discord, Teams,
Mattermost) carry their secret in the URL and are not signed.

Only a 2xx is success; 408, 429 and 5xx are retried (``Retry-After`` honoured);
410 disables the route; any other answer, a redirect included, is parked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import httpx
from standardwebhooks.webhooks import Webhook

from monitor import __version__
from monitor.core.clock import Clock, retry_after
from monitor.core.types import Outbound
from monitor.notify import Outcome

USER_AGENT = f"monitor/{__version__} (webhook)"
_RETRY = {408, 425, 429}


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookEndpoint:
    """Where a route's JSON is posted, and how it is signed."""

    url: str  # http or https, with a host
    format: str  # standard (signed), or a chat format: slack, discord, teams, mattermost
    # Environment variable with the signing secrets (whsec_...), space-separated.
    secret_env: str | None
    timeout: float  # seconds for the whole post


class WebhookNotifier:
    def __init__(
        self,
        settings: WebhookEndpoint,
        env: Mapping[str, str],
        clock: Clock,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.env = env
        self.clock = clock
        self._client = client

    @property
    def deadline(self) -> float:
        return self.settings.timeout

    async def send(self, delivery: Outbound) -> Outcome:
        host = self.settings.url.split("/")[2]  # validated with the configuration
        try:
            headers = self.headers(delivery)
        except (LookupError, ValueError) as exc:
            return Outcome.failed(str(exc))
        try:
            # httpx's timeout is per read; a receiver that drips bytes meets this one.
            async with asyncio.timeout(self.deadline):
                response = await self._http().post(
                    self.settings.url,
                    content=delivery.payload,
                    headers=headers,
                    timeout=self.settings.timeout,
                )
        except TimeoutError:
            return Outcome.again(f"{host}: no answer within {self.deadline:g}s")
        except httpx.HTTPError as exc:
            return Outcome.again(f"{host}: {type(exc).__name__}: {exc}")
        return _outcome(response, host, self.clock.now())

    def headers(self, delivery: Outbound) -> dict[str, str]:
        now = self.clock.now()
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(int(now.timestamp())),
        }
        if self.settings.format == "standard" and self.settings.secret_env:
            name = self.settings.secret_env
            if name not in self.env:
                raise LookupError(f"environment variable {name} is not set")
            body = delivery.payload.decode()
            headers["webhook-signature"] = " ".join(
                Webhook(secret).sign(delivery.message_id, now, body)
                for secret in self.env[name].split()
            )
        return headers

    def _http(self) -> httpx.AsyncClient:
        # Made on first use, in the event loop that uses it (a --once run has its own).
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _outcome(response: httpx.Response, host: str, now: datetime) -> Outcome:
    status = response.status_code
    if 200 <= status < 300:
        return Outcome.sent()
    error = f"{host}: HTTP {status} {response.reason_phrase}".strip()
    if status == 410:
        return Outcome(ok=False, error=error + " (the receiver is gone)", disable=True)
    if status in _RETRY or status >= 500:
        return Outcome.again(error, retry_after(response.headers.get("retry-after"), now))
    if 300 <= status < 400:
        error += f" to {response.headers.get('location', '?')}: configure the final URL"
    return Outcome.failed(error)
