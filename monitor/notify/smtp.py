"""The email channel: SMTP with STARTTLS or implicit TLS, certificates verified (aiosmtplib).

Only a 250 to the message counts as sent. A 4xx reply, a timeout or a dropped
connection is tried again later; a 5xx reply or a certificate that does not
verify is parked for a person to look at (``monitor deliveries``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import aiosmtplib

from monitor.core.types import Outbound
from monitor.notify import Outcome

_PORTS = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpSettings:
    """The server a route's mail goes through, and the envelope."""

    host: str
    port: int | None  # None: the security's usual port
    security: Literal["starttls", "tls", "none"]
    sender: str
    to: tuple[str, ...]
    username_env: str | None  # names of the environment variables holding
    password_env: str | None  # the credentials (never the credentials)
    ca_file: Path | None  # a private CA to trust as well
    timeout: float  # seconds, per server reply


class SmtpNotifier:
    def __init__(self, settings: SmtpSettings, env: Mapping[str, str]) -> None:
        self.settings = settings
        self.env = env

    @property
    def deadline(self) -> float:
        return self.settings.timeout * 4

    async def send(self, delivery: Outbound) -> Outcome:
        s = self.settings
        try:
            username, password = self._credentials()
            context = self._tls_context()
        except (LookupError, OSError, ssl.SSLError) as exc:
            return Outcome.failed(str(exc))
        try:
            async with asyncio.timeout(self.deadline):  # a server that drips replies
                refused, _ = await aiosmtplib.send(
                    delivery.payload,
                    sender=s.sender,
                    recipients=list(s.to),
                    hostname=s.host,
                    port=s.port or _PORTS[s.security],
                    username=username,
                    password=password,
                    use_tls=s.security == "tls",
                    start_tls=s.security == "starttls",
                    tls_context=context,
                    timeout=s.timeout,
                )
        except TimeoutError:
            return Outcome.again(f"{s.host}: no answer within {self.deadline:g}s")
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return _reply(exc.recipients[0].code, exc.recipients[0].message, s.host)
        except aiosmtplib.SMTPResponseException as exc:
            return _reply(exc.code, exc.message, s.host)
        except ssl.SSLCertVerificationError as exc:
            return Outcome.failed(f"{s.host}: certificate not trusted: {exc.verify_message}")
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Outcome.again(f"{s.host}: {exc}")
        if refused:
            # Sent to the others; the refused ones would refuse again.
            who = ", ".join(f"{r} ({v.code})" for r, v in refused.items())
            return Outcome(ok=True, error=f"refused by the server for {who}")
        return Outcome.sent()

    def _credentials(self) -> tuple[str | None, str | None]:
        return self._env(self.settings.username_env), self._env(self.settings.password_env)

    def _env(self, name: str | None) -> str | None:
        if name is None:
            return None
        if name not in self.env:
            raise LookupError(f"environment variable {name} is not set")
        return self.env[name]

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.settings.security == "none":
            return None
        context = ssl.create_default_context()
        if self.settings.ca_file:
            context.load_verify_locations(cafile=str(self.settings.ca_file))
        return context

    async def aclose(self) -> None:
        return None


def _reply(code: int, message: str, host: str) -> Outcome:
    error = f"{host}: {code} {message}".strip()
    return Outcome.again(error) if 400 <= code < 500 else Outcome.failed(error)
