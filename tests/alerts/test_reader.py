"""What a digest's reader sees, rendered from a real store: outlets counted as
outlets, every report listed, matched phrases marked whole, no query syntax."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.alerts.world import EVENT_TITLE, FEEDS, ROOT, cycle, open_app, sample_config, write_feed
from tests.conftest import FakeClock


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
