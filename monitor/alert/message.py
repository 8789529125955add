"""A rendered digest as the bytes each channel sends, made once and kept in the outbox.

Retries send exactly these bytes, with the same Message-ID or webhook-id, so a
receiver that got a digest twice (a crash between its acceptance and our
commit) can tell it is the same one.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from monitor.alert.render import Rendered, header_text
from monitor.alert.settings import RouteSpec


def new_id(channel: str, domain: str) -> str:
    """A Message-ID for email and files, a ``msg_`` id for webhooks (Standard Webhooks)."""
    token = uuid.uuid4().hex
    return f"<{token}@{domain}>" if channel in ("email", "file") else f"msg_{token}"


def compose(
    route: RouteSpec,
    rendered: Rendered,
    *,
    message_id: str,
    now: datetime,
    domain: str,
    stem: str,
) -> bytes:
    if route.channel not in ("email", "file"):  # a webhook, standard or chat: its JSON
        return rendered.json.encode()
    mail = email_message(route, rendered, message_id=message_id, now=now, domain=domain)
    if route.channel == "email":
        return mail.as_bytes(policy=SMTP)
    files = {
        "stem": stem,
        "eml": mail.as_string(policy=SMTP),
        "html": rendered.html,
        "json": rendered.json,
    }
    return json.dumps(files, ensure_ascii=False).encode()


def email_message(
    route: RouteSpec, rendered: Rendered, *, message_id: str, now: datetime, domain: str
) -> EmailMessage:
    mail = EmailMessage()
    settings = route.email
    mail["From"] = settings.sender if settings else Address("monitor", "monitor", domain)
    mail["To"] = ", ".join(settings.to) if settings else Address(route.name, route.name, domain)
    mail["Subject"] = header_text(rendered.subject)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id
    mail["List-Id"] = f"{header_text(route.title or route.name)} <{route.name}.{domain}>"
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: autoresponders stay quiet
    mail["X-Auto-Response-Suppress"] = "All"
    unsubscribe = settings.list_unsubscribe if settings else None
    if unsubscribe:
        mail["List-Unsubscribe"] = f"<{header_text(unsubscribe)}>"
        if unsubscribe.startswith("https:"):
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    mail.set_content(rendered.text)
    mail.add_alternative(rendered.html, subtype="html")
    return mail
