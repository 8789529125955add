"""What a chat reader sees: links that go where they say, and no story lost silently."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.alerts.receivers import WebhookReceiver
from tests.alerts.world import cycle, open_app, sample_config, write_feed
from tests.conftest import FakeClock

_SLACK_LINK = re.compile(r"<([^<>]*)>")
_SLACK_ESCAPES = {"&lt;": "<", "&gt;": ">", "&amp;": "&"}


def slack_unescape(text: str) -> str:
    return re.sub(r"&(lt|gt|amp);", lambda m: _SLACK_ESCAPES[m[0]], text)


def slack_links(mrkdwn: str) -> list[tuple[str, str]]:
    """(target, visible text) of each link, read as Slack reads ``<target|text>``:
    the target ends at the first ``|``, the three escapes are undone in both parts."""
    links = []
    for inner in _SLACK_LINK.findall(mrkdwn):
        target, bar, text = inner.partition("|")
        links.append((slack_unescape(target), slack_unescape(text if bar else target)))
    return links


def slack_texts(body: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]


def chat_route(receiver: WebhookReceiver, fmt: str, extra: str = "") -> str:
    return f"  - {{name: chat, webhook: {{url: '{receiver.url()}', format: {fmt}}}{extra}}}\n"


def test_a_bar_in_a_link_leaves_slacks_visible_text_the_title(
    tmp_path: Path, clock: FakeClock, webhook_receiver: WebhookReceiver
) -> None:
    title = "North Korean troops reach the Kursk front"
    url = "https://extra.example/story?id=7&x=a|Your account is locked: sign in again"
    route = chat_route(webhook_receiver, "slack", ", schedule: instant")
    cfg = sample_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", route, feeds={})
    text = "North Korea has sent troops to Russia, Pyongyang and Moscow confirmed."
    write_feed(tmp_path / "feeds" / "extra.rss", [("nk-1", title, text, datetime(2024, 11, 8))])
    feed = (tmp_path / "feeds" / "extra.rss").read_text()
    (tmp_path / "feeds" / "extra.rss").write_text(
        feed.replace("https://extra.example/nk-1", url.replace("&", "&amp;"))
    )
    with open_app(cfg, clock) as app:
        assert cycle(app).sent == 1
    (request,) = webhook_receiver.wait_for(1)
    links = [link for t in slack_texts(json.loads(request.body)) for link in slack_links(t)]
    assert links == [(url.replace("|", "%7C"), title)]
