"""Feed text never becomes a mail header line: RFC 2047 encoded words included.

A title may carry ``=?utf-8?q?...=0D=0A...?=``: no control character is in it,
but an email library or a mail reader decodes it into CR/LF. Whatever a title
holds, the message that reaches the SMTP server (or the ``.eml`` file) has the
headers we set, our content type, our recipients, and a one-line subject.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.alert.digest import build
from monitor.alert.message import compose
from monitor.alert.render import Renderer, context
from monitor.alert.settings import RouteSpec
from monitor.app import route_spec
from monitor.config import Config, RouteSettings
from monitor.core.types import Outbound
from monitor.notify.smtp import SmtpNotifier, SmtpSettings
from tests.alert.test_digest import candidate
from tests.alert.world import cycle, open_app, sample_config, write_feed
from tests.conftest import FakeClock
from tests.receivers import SmtpReceiver

Q_TITLE = (
    "x =?utf-8?q?y=0D=0AReply-To:_attacker@evil.example=0D=0AContent-Type:_text/html"
    "=0D=0A=0D=0A<h1>Phish</h1>?="
)
B_TITLE = (
    "x =?UTF-8?B?"
    + base64.b64encode(
        b"y\r\nBcc: victim@evil.example\r\nReply-To: attacker@evil.example\r\n"
        b"Content-Type: text/html\r\n\r\n<h1>Phish</h1>"
    ).decode()
    + "?= North Korea"
)
# Two words, each harmless alone, that a decoder joins (adjacent encoded words).
SPLIT_TITLE = "x =?utf-8?Q?y=0D?= =?utf-8?q?=0ABcc:_victim@evil.example?="
MATCHING_TEXT = (
    "North Korea has deployed troops to Russia, Pyongyang and Moscow confirmed; "
    "the soldiers were sent to the Kursk region."
)
# What compose() sets, and what the email package adds for a multipart body.
HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-id",
    "auto-submitted",
    "x-auto-response-suppress",
    "content-type",
    "mime-version",
}
ATTACKER = ("evil.example", "Phish")


def hostile_config(tmp: Path, route: str, title: str) -> Config:
    cfg = sample_config(tmp, f"sqlite:///{tmp / 'm.db'}", route, feeds={})
    published = datetime(2024, 11, 8, 11, 0, tzinfo=UTC)
    write_feed(tmp / "feeds" / "extra.rss", [("evil-1", title, MATCHING_TEXT, published)])
    return cfg


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def assert_only_ours(message: EmailMessage) -> None:
    """Our headers, our multipart body, one subject line; nothing of the attacker's."""
    names = [name.lower() for name in message]
    assert set(names) == HEADERS and len(names) == len(HEADERS), names
    subject = str(message["Subject"])
    assert "\r" not in subject and "\n" not in subject, subject
    assert not any(bad in str(message[h]) for h in ("From", "To") for bad in ATTACKER)
    kinds = [part.get_content_type() for part in message.walk()]
    assert kinds == ["multipart/alternative", "text/plain", "text/html"]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<h1>Phish" not in html  # the attacker's markup is nowhere a reader renders it


@pytest.mark.parametrize("title", [Q_TITLE, B_TITLE, SPLIT_TITLE], ids=["q", "b", "split"])
def test_an_encoded_word_in_a_title_adds_no_header_recipient_or_body_over_smtp(
    tmp_path: Path, clock: FakeClock, smtp_plain: SmtpReceiver, title: str
) -> None:
    route = (
        f"  - name: desk\n    schedule: instant\n    email: {{host: 127.0.0.1, "
        f"port: {smtp_plain.port}, security: none, from: m@example.org, to: [d@example.org]}}\n"
    )
    with open_app(hostile_config(tmp_path, route, title), clock) as app:
        assert cycle(app).sent == 1
    (mail,) = smtp_plain.wait_for(1)
    assert mail.rcpt_tos == ["d@example.org"]
    assert_only_ours(mail.message)
    assert mail.message["Reply-To"] is None and mail.message["Bcc"] is None
    assert "x" in str(mail.message["Subject"])  # the title is still there, as text
    # Only headers get the "=?" broken: the body shows the title as the feed wrote it.
    text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert title[2:12] in text  # "=?utf-8?q?", as written


@pytest.mark.parametrize("title", [Q_TITLE, B_TITLE, SPLIT_TITLE], ids=["q", "b", "split"])
def test_an_encoded_word_in_a_title_adds_no_header_or_body_to_the_eml_file(
    tmp_path: Path, clock: FakeClock, title: str
) -> None:
    route = f"  - {{name: desk, file: {{dir: '{tmp_path / 'out'}'}}, schedule: instant}}"
    with open_app(hostile_config(tmp_path, route, title), clock) as app:
        assert cycle(app).alerts == 1
    raw = next((tmp_path / "out").glob("desk-*.eml")).read_bytes()
    assert_only_ours(parse(raw))


# A property: whatever encoded words and control characters a title holds.

_CHARSETS = st.sampled_from(["utf-8", "UTF-8", "Utf-8", "iso-8859-1", "us-ascii", "utf-8*en"])
_PAYLOADS = st.lists(
    st.sampled_from(["\r\n", "\r", "\n", "Bcc: v@evil.example", "Reply-To: a@evil.example"])
    | st.sampled_from(["Content-Type: text/html", "<h1>Phish</h1>", " ", "?", "=", "_", "é"])
    | st.text(max_size=8),
    min_size=1,
    max_size=6,
).map("".join)


def _encoded_word(charset: str, kind: str, payload: str) -> str:
    data = payload.encode("utf-8", "surrogatepass")
    if kind in "bB":
        text = base64.b64encode(data).decode()
    else:
        text = "".join(chr(b) if chr(b).isalnum() else f"={b:02X}" for b in data)
    return f"=?{charset}?{kind}?{text}?="


_WORDS = st.builds(_encoded_word, _CHARSETS, st.sampled_from("qQbB"), _PAYLOADS)
_PIECES = st.one_of(
    _WORDS,
    st.sampled_from(["\r\n", "\n", "\r", "\x00", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", " "]),
    st.sampled_from(["=?", "?=", "=?utf-8?q?", "?q?", "=0D=0A", "\r\n\t", "\r\n "]),
    st.text(min_size=1, max_size=30),
    st.just("North Korea " * 8),  # long enough that the subject is folded
)
TITLES = st.lists(_PIECES, min_size=1, max_size=8).map("".join)


@pytest.fixture(scope="module")
def receiver() -> Iterator[SmtpReceiver]:
    with SmtpReceiver("none") as smtp:
        yield smtp


def _route(receiver: SmtpReceiver) -> RouteSpec:
    settings = {
        "name": "desk",
        "title": "Korea desk",
        "schedule": "instant",
        "email": {
            "host": "127.0.0.1",
            "port": receiver.port,
            "security": "none",
            "from": "m@example.org",
            "to": ["d@example.org"],
        },
    }
    return route_spec(RouteSettings.model_validate(settings))


def _smtp(receiver: SmtpReceiver) -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1",
        port=receiver.port,
        security="none",
        sender="m@example.org",
        to=("d@example.org",),
        username_env=None,
        password_env=None,
        ca_file=None,
        timeout=30,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=TITLES, kind=st.sampled_from(["alert", "digest"]))
def test_whatever_a_title_holds_the_received_message_has_our_headers_and_one_subject_line(
    receiver: SmtpReceiver, title: str, kind: str
) -> None:
    now = datetime(2024, 11, 8, 12, 0, tzinfo=UTC)
    found = [replace(candidate(1, "s1"), title=title)]
    values = context(
        build(found, {}, {}, cap=10),
        route="desk",
        title="Korea desk",
        kind=kind,
        now=now,
        zone=ZoneInfo("UTC"),
    )
    route = _route(receiver)
    rendered = Renderer().render(values)
    message_id = f"<{len(receiver.messages)}@monitor.localhost>"
    payload = compose(
        route, rendered, message_id=message_id, now=now, domain="monitor.localhost", stem="s"
    )
    # Checked here first, so that hypothesis shrinks a failure without a server.
    assert_only_ours(parse(payload))
    notifier = SmtpNotifier(_smtp(receiver), {})
    delivery = Outbound(1, 1, "desk", "email", message_id, payload, 0)
    before = len(receiver.messages)
    assert asyncio.run(notifier.send(delivery)).ok
    (mail,) = receiver.messages[before:]
    assert mail.rcpt_tos == ["d@example.org"]
    assert mail.message["Message-ID"] == message_id
    assert_only_ours(mail.message)
