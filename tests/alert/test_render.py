"""Hostile feed content arrives inert; templates are the user's to change, safely."""

from __future__ import annotations

import email
import email.policy
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.alert.digest import build
from monitor.alert.render import Renderer, context
from monitor.core.alerting import Source
from monitor.core.errors import ConfigError
from tests.alert.test_digest import candidate
from tests.alert.world import cycle, open_app, sample_config
from tests.conftest import FakeClock
from tests.receivers import SmtpReceiver

UTC_ZONE = ZoneInfo("UTC")
HOSTILE_TITLE = (
    "<script>alert(1)</script>North Korean troops {{ 7*7 }} in Russia\r\nBcc: victim@example.org"
)
HOSTILE_ITEM = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Extra Times</title><link>https://extra.example/</link>
<item><guid>evil-1</guid>
<title>{HOSTILE_TITLE.replace("<", "&lt;").replace(">", "&gt;")}</title>
<link>javascript:alert(document.cookie)</link>
<description>&lt;img src=x onerror="alert(2)"&gt;North Korea has deployed troops to Russia,
Pyongyang and Moscow confirmed; {{{{ config }}}} the soldiers were sent to the Kursk region
&lt;a href="javascript:alert(3)" onclick="alert(4)"&gt;more&lt;/a&gt;.</description>
<pubDate>Mon, 28 Oct 2024 18:00:00 +0000</pubDate></item></channel></rss>"""


def test_hostile_feed_content_arrives_inert_in_every_format(
    tmp_path: Path, clock: FakeClock
) -> None:
    route = f"  - {{name: desk, file: {{dir: '{tmp_path / 'out'}'}}, schedule: instant}}"
    cfg = sample_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", route, feeds={})
    (tmp_path / "feeds" / "extra.rss").write_text(HOSTILE_ITEM)
    with open_app(cfg, clock) as app:
        assert cycle(app).alerts == 1
    html = next((tmp_path / "out").glob("desk-*.html")).read_text()
    for tag in ("<script", "<img", "onerror", "onclick", "javascript:", '<a href="javascript'):
        assert tag not in html.lower()
    assert "49" not in html  # {{ 7*7 }} is text, never evaluated
    assert "{{ 7*7 }}" in html
    mail = email.message_from_string(
        next((tmp_path / "out").glob("desk-*.eml")).read_text(), policy=email.policy.default
    )
    assert mail["Bcc"] is None  # the CR/LF in the title injected no header
    assert "\n" not in str(mail["Subject"]) and "North Korean troops" in str(mail["Subject"])
    payload = json.loads(next((tmp_path / "out").glob("desk-*.json")).read_text())
    (entry,) = payload["groups"][0]["entries"]
    assert entry["url"] is None  # a javascript: link is dropped, not passed on


def test_user_templates_override_the_bundled_ones_in_a_sandbox(tmp_path: Path) -> None:
    digest = build([candidate(1, "s1")], {}, {}, cap=10)
    values = context(
        digest, route="desk", title="T", kind="digest", now=datetime.now(UTC), zone=UTC_ZONE
    )
    (tmp_path / "digest.txt.j2").write_text("{{ count }} for {{ route }}")
    assert Renderer(tmp_path).render(values).text == "1 for desk"

    (tmp_path / "digest.txt.j2").write_text("{{ groups.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ConfigError, match=r"digest\.txt\.j2"):
        Renderer(tmp_path).render(values)

    (tmp_path / "digest.txt.j2").write_text("ok")
    (tmp_path / "webhook.json.j2").write_text('{"broken": {{ count }}')
    with pytest.raises(ConfigError, match=r"webhook\.json\.j2: does not render valid JSON"):
        Renderer(tmp_path).render(values)


def test_html_templates_escape_whatever_their_file_name(tmp_path: Path) -> None:
    digest = build([replace(candidate(1, "s1"), title="<b>bold</b>")], {}, {}, cap=10)
    values = context(
        digest, route="desk", title="<i>T</i>", kind="digest", now=datetime.now(UTC), zone=UTC_ZONE
    )
    (tmp_path / "digest.html.j2").write_text("{{ title }} {{ groups[0].entries[0].title }}")
    html = Renderer(tmp_path).render(values).html  # the name has no .html suffix
    assert html == "&lt;i&gt;T&lt;/i&gt; &lt;b&gt;bold&lt;/b&gt;"


def test_a_digest_of_500_stories_renders_in_every_format() -> None:
    found = [candidate(i, f"s{i}", minutes=i) for i in range(500)]
    digest = build(found, {}, {}, cap=500)
    values = context(
        digest, route="desk", title="T", kind="digest", now=datetime.now(UTC), zone=UTC_ZONE
    )
    renderer = Renderer()
    rendered = renderer.render(values)
    assert rendered.html.count("<article>") == 500
    assert len(json.loads(rendered.json)["groups"][0]["entries"]) == 500
    for fmt in ("slack", "discord", "teams", "mattermost"):
        assert json.loads(renderer.render(values, fmt).json)


def test_a_crlf_in_a_title_adds_no_recipient_at_the_smtp_server(
    tmp_path: Path, clock: FakeClock, smtp_plain: SmtpReceiver
) -> None:
    route = (
        f"  - name: desk\n    schedule: instant\n    email: {{host: 127.0.0.1, "
        f"port: {smtp_plain.port}, security: none, from: m@example.org, to: [d@example.org]}}\n"
    )
    cfg = sample_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", route, feeds={})
    (tmp_path / "feeds" / "extra.rss").write_text(HOSTILE_ITEM)
    with open_app(cfg, clock) as app:
        assert cycle(app).sent == 1
    (mail,) = smtp_plain.wait_for(1)
    assert mail.rcpt_tos == ["d@example.org"]
    assert mail.message["Bcc"] is None and "victim" not in str(mail.message["To"])
    html = mail.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html


def test_feed_text_cannot_ping_or_link_in_chat_formats() -> None:
    hostile = replace(
        candidate(1, "s1"),
        title="<!channel> [click](https://evil.example) @all",
        snippet="![x](https://tracker.example/p.png) <https://evil.example|login>",
    )
    values = context(
        build([hostile], {}, {}, cap=10),
        route="desk",
        title="T",
        kind="digest",
        now=datetime.now(UTC),
        zone=UTC_ZONE,
    )
    renderer = Renderer()
    slack = json.dumps(json.loads(renderer.render(values, "slack").json))
    assert "<!channel>" not in slack and "<https://evil.example|login>" not in slack
    for fmt in ("mattermost", "teams", "discord"):
        body = renderer.render(values, fmt).json
        assert "[click](" not in body and "![x](" not in body, fmt
        assert "@all" not in body, fmt  # a backslash before it would not do (Mattermost)


@pytest.mark.parametrize("fmt", ["slack", "discord", "teams", "mattermost", "txt"])
def test_also_reported_by_never_names_the_lead_outlet_again(fmt: str) -> None:
    lead = candidate(1, "s1")  # from "feed 1"
    sources = {
        "s1": [
            Source("feed 1", "a second report", "https://example.org/1b", "art1b"),
            Source("Other Wire", "their report", "https://wire.example/1", "w1"),
        ]
    }
    values = context(
        build([lead], {}, sources, cap=10),
        route="desk",
        title="T",
        kind="digest",
        now=datetime.now(UTC),
        zone=UTC_ZONE,
    )
    rendered = Renderer().render(values, "webhook" if fmt == "txt" else fmt)
    text = rendered.text if fmt == "txt" else json.dumps(json.loads(rendered.json))
    (line,) = re.findall(r"[Aa]lso(?: reported by)? ([^\\\n\"]*)", text)
    assert "Other Wire" in line or line.startswith("1 outlet"), line
    assert "feed 1" not in line, line
