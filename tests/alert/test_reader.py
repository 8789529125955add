"""What a digest's reader sees, rendered from a real store: outlets counted as
outlets, every report listed, matched phrases marked whole, no query syntax."""

from __future__ import annotations

import email
import email.policy
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from markupsafe import escape

from monitor.cli.main import cli
from tests.alert.world import EVENT_TITLE, FEEDS, ROOT, cycle, open_app, sample_config, write_feed
from tests.conftest import FakeClock
from tests.receivers import WebhookReceiver


def _event_text() -> str:
    """The wire story's text, as the sample's Global Wire feed carries it."""
    channel = ET.parse(ROOT / "corpus" / "feeds" / "globalwire.rss").getroot()
    item = next(i for i in channel.iter("item") if i.findtext("title") == EVENT_TITLE)
    return item.findtext("description") or ""


def _digest(tmp: Path, clock: FakeClock) -> tuple[dict[str, Any], str, str]:
    """The sample's first digest, plus two reprints of the wire story in one outlet
    (Extra Times): its JSON, HTML and text."""
    route = f"  - {{name: desk, file: {{dir: '{tmp / 'out'}'}}}}"
    cfg = sample_config(tmp, f"sqlite:///{tmp / 'm.db'}", route)
    reprint = (EVENT_TITLE, _event_text(), datetime(2024, 10, 28, 16))
    write_feed(tmp / "feeds" / "extra.rss", [("x-1", *reprint), ("x-2", *reprint)])
    with open_app(cfg, clock) as app:
        assert cycle(app).sent == 1
    out = tmp / "out"
    payload = json.loads(next(out.glob("desk-*.json")).read_text())
    text = next(out.glob("desk-*.eml")).read_text()
    return payload, next(out.glob("desk-*.html")).read_text(), text


def _entries(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for g in payload["groups"] for e in g["entries"]]


def test_outlets_are_counted_once_and_every_report_is_listed(
    tmp_path: Path, clock: FakeClock
) -> None:
    payload, html, _ = _digest(tmp_path, clock)
    entries = _entries(payload)
    event = next(e for e in entries if e["title"] == EVENT_TITLE)
    extra = [a for a in event["also"] if a["name"] == "Extra Times"]
    # Both reprints of the one outlet, not one of them.
    assert sorted(a["url"] for a in extra) == [
        "https://extra.example/x-1",
        "https://extra.example/x-2",
    ]
    outlets = {e["source"] for e in entries} | {a["name"] for e in entries for a in e["also"]}
    assert outlets == set(FEEDS.values()) | {"Extra Times"}
    articles = sum(1 + len(e["also"]) for e in entries)
    assert articles > len(outlets)
    header = re.search(r'<div class="meta">([^<]*)</div>', html)
    assert header is not None
    assert header[1].startswith(
        f"{len(entries)} stories from {len(outlets)} outlets ({articles} articles)"
    )


def _plain(eml: str) -> str:
    mail = email.message_from_string(eml, policy=email.policy.default)
    part = mail.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def test_matched_phrases_are_marked_whole_in_the_articles_words(
    tmp_path: Path, clock: FakeClock
) -> None:
    payload, html, eml = _digest(tmp_path, clock)
    text = _plain(eml)
    event = next(e for e in _entries(payload) if e["title"] == EVENT_TITLE)
    block = next(a for a in html.split("<article>") if str(escape(EVENT_TITLE)) in a)
    marks = re.findall(r"<mark>(.*?)</mark>", block)
    for phrase in ("North Korea", "sent soldiers", "military units"):
        assert phrase in marks
    assert "North" not in marks and "Korea" not in marks
    assert re.search(r"</mark>[\s'-]*<mark>", html) is None  # no phrase cut in pieces
    # The reader sees what matched as the article says it, never a query.
    assert marks[:4] == ["North Korea", "sent soldiers", "Russia", "military units"]
    assert event["matched"][: len(marks)] == list(dict.fromkeys(marks))
    assert "found: North Korea, sent soldiers, Russia, military units" in text
    for shown in (html, text):
        assert "NEAR/" not in shown
        assert re.search(r"\w\*", shown) is None  # no "troop*" or "Russian*"


@pytest.mark.parametrize("duplicates", [True, False])
def test_a_webhook_names_stories_one_way_and_every_article_for_explain(
    tmp_path: Path, clock: FakeClock, webhook_receiver: WebhookReceiver, duplicates: bool
) -> None:
    route = f"  - {{name: hook, webhook: {{url: '{webhook_receiver.url()}'}}}}"
    extra = f"duplicates: {{enabled: {str(duplicates).lower()}}}"
    with open_app(
        sample_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", route, extra), clock
    ) as app:
        assert cycle(app).sent == 1
    (request,) = webhook_receiver.wait_for(1)
    entries = _entries(json.loads(request.body))
    stories = [e["story"] for e in entries]
    if duplicates:  # the ids `monitor stories list` shows (as #<id>), one scheme
        assert all(re.fullmatch(r"s[0-9]+", s) for s in stories), stories
    else:  # no stories: each entry is its article
        assert stories == [None] * len(entries)
    reports = {e["article"]: e["title"] for e in entries}
    reports |= {a["article"]: a["title"] for e in entries for a in e["also"]}
    assert len(reports) >= len(entries) and all(re.fullmatch("[0-9a-f]{16}", i) for i in reports)
    config = str(tmp_path / "monitor.yaml")
    for article_id in reports:
        explained = CliRunner().invoke(cli, ["--config", config, "explain", article_id])
        assert explained.exit_code == 0, explained.output
        assert article_id in explained.output and "north-korea-russia" in explained.output
