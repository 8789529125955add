"""Hostile titles in mail headers, and floods of matches, through the whole pipeline.

Each scenario runs the real thing on loopback: feeds read from files, the
match and alert stages, aiosmtpd and an HTTP webhook receiver that record what
they accept, on a clock the scenario moves.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import random
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from tests.alert.test_flood import flood, flood_config, hook_route
from tests.alert.test_mail_headers import HEADERS
from tests.alert.world import cycle, open_app, write_feed
from tests.conftest import FakeClock
from tests.receivers import SmtpReceiver, WebhookReceiver
from tests.reliability.figures import Figure, Scale

MATCHING = "North Korea has deployed troops to Russia; the soldiers were sent to the Kursk region."
# What a message of ours carries; anything else came from a title.
OURS = HEADERS
_INJECTED = ["\r\n", "\n", "\r", "Bcc: v@evil.example", "Reply-To: a@evil.example"]
_INJECTED += ["Content-Type: text/html", "<h1>Phish</h1>", "To: x@evil.example"]


def hostile_title(rng: random.Random) -> str:
    """Text, and RFC 2047 encoded words in q or b, any case, whole or split in two,
    that decode to CR/LF and headers of an attacker's."""
    payload = "".join(rng.choices(_INJECTED, k=rng.randint(2, 6))).encode()
    charset = rng.choice(["utf-8", "UTF-8", "iso-8859-1", "us-ascii"])
    halves = [payload] if rng.random() < 0.5 else [payload[:3], payload[3:]]
    words = []
    for half in halves:
        kind = rng.choice("qQbB")
        text = (
            base64.b64encode(half).decode()
            if kind in "bB"
            else "".join(chr(b) if chr(b).isalnum() else f"={b:02X}" for b in half)
        )
        words.append(f"=?{charset}?{kind}?{text}?=")
    padding = "North Korea " * rng.randint(0, 12)  # long subjects are folded
    tail = rng.choice(["", "in Kursk", "\t", "x"])
    return f"{padding}troops {' '.join(words)} {tail}"


def _foreign(message: EmailMessage) -> list[str]:
    """What in a received message did not come from us."""
    found = [f"header {name}" for name in message if name.lower() not in OURS]
    if len(list(message)) != len(OURS):
        found.append(f"{len(list(message))} headers")
    if {"\r", "\n"} & set(str(message["Subject"])):
        found.append("a subject of two lines")
    kinds = [part.get_content_type() for part in message.walk()]
    if kinds != ["multipart/alternative", "text/plain", "text/html"]:
        found.append(f"body {kinds}")
    return found


def header_injection(scale: Scale) -> list[Figure]:
    rng = random.Random("encoded words")
    titles = [hostile_title(rng) for _ in range(scale.runs * 20)]
    published = datetime(2024, 11, 8, 11, 0, tzinfo=UTC)
    items = [
        (f"t{n}", title, f"{MATCHING} Item {n}.", published + timedelta(seconds=n))
        for n, title in enumerate(titles)
    ]
    with tempfile.TemporaryDirectory(prefix="mail-") as name, SmtpReceiver("none") as smtp:
        tmp = Path(name)
        route = (
            f"  - name: desk\n    schedule: instant\n    max_alerts: 100000\n"
            f"    email: {{host: 127.0.0.1, port: {smtp.port}, security: none, "
            "from: m@example.org, to: [d@example.org]}\n"
        )
        cfg = flood_config(tmp, route)
        write_feed(tmp / "feeds" / "extra.rss", items)
        with open_app(cfg, FakeClock()) as app:
            while cycle(app).sent:
                pass
        mails = smtp.messages
    broken = Counter[str]()
    for mail in mails:
        parsed = email.message_from_bytes(mail.raw, policy=email.policy.default)
        broken.update(_foreign(parsed))
        if mail.rcpt_tos != ["d@example.org"]:
            broken["another recipient"] += 1
    outcome = f"{len(mails)} of {len(titles)} messages received; " + (
        ", ".join(f"{what} ×{n}" for what, n in broken.most_common())
        or "none carried a header, recipient or body of a title's; every subject one line"
    )
    return [
        Figure(
            area="alerting",
            hazard="RFC 2047 encoded words in titles (q and b, any case, split in two, folded) "
            "that decode to CR/LF, Bcc:, Reply-To:, Content-Type: and a body, sent over SMTP",
            tries=len(titles),
            outcome=outcome,
            target="one message per title, only our headers, recipients and body",
            met=len(mails) == len(titles) and not broken,
        )
    ]


def alert_flood(scale: Scale) -> list[Figure]:
    """500 matching entries in one poll, then more while the window is full."""
    cap, window = 20, timedelta(minutes=10)  # the defaults
    later = 10 * scale.runs
    with tempfile.TemporaryDirectory(prefix="flood-") as name, WebhookReceiver() as hook:
        tmp = Path(name)
        cfg = flood_config(tmp, hook_route(hook.url(), "max_entries: 1000"))
        clock = FakeClock()
        titles = flood(tmp / "feeds" / "extra.rss", 0, 500)
        with open_app(cfg, clock) as app:
            cycle(app)
            clock.advance(minutes=3)
            titles += flood(tmp / "feeds" / "extra.rss", 500, later)
            for _ in range(12):  # a check a minute for twelve minutes
                cycle(app)
                clock.advance(minutes=1)
            made = sorted(d.created_at for d in app.repo.deliveries(limit=10_000))
        told = Counter[str]()
        for request in {r.headers["webhook-id"]: r for r in hook.accepted()}.values():
            body = json.loads(request.body)
            told.update(e["title"] for g in body["groups"] for e in g["entries"])
    busiest = max(sum(1 for t in made if s <= t < s + window) for s in made)
    lost = len(set(titles) - set(told))
    twice = sum(n - 1 for n in told.values() if n > 1)
    return [
        Figure(
            area="alerting",
            hazard=f"A flood: 500 matching entries in one poll of an instant route, "
            f"{later} more while its window is full",
            tries=len(titles),
            outcome=f"{len(made)} messages, at most {busiest} in 10 minutes; "
            f"{len(told)} stories told, lost {lost}, twice {twice}",
            target=f"at most {cap} messages in 10 minutes; every story once",
            met=busiest <= cap and lost == 0 and twice == 0 and len(told) == len(titles),
        )
    ]


SCENARIOS = (header_injection, alert_flood)
