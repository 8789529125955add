"""What a chat reader sees: links that go where they say, and no story lost silently."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.alert.world import cycle, open_app, sample_config, write_feed
from tests.conftest import FakeClock
from tests.receivers import WebhookReceiver

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
    assert links == [(url.replace("|", "%7C").replace(" ", "%20"), title)]


# Long titles, so that every format meets its size limit before its count limit.
_FILLER = " ".join(["as officials in Seoul, Kyiv and Washington weighed the reports"] * 3)


def _dispatches(n: int) -> list[tuple[str, str, str, datetime]]:
    """``n`` matching articles, each its own story (no digits: they are content to us,
    but letters keep the texts apart for any fingerprint)."""
    tags = [f"{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(n)]
    return [
        (
            f"d-{tag}",
            f"Dispatch {tag}: North Korean troops reach the Kursk front {_FILLER}",
            f"Dispatch {tag}. North Korea has sent troops to Russia, Pyongyang and Moscow "
            f"confirmed in statement {tag}, {_FILLER}.",
            datetime(2024, 11, 8, 11),
        )
        for tag in tags
    ]


def _markdown_unescape(text: str) -> str:
    return re.sub(r"\\([\\`*_\[\]()!#@<>|~])", r"\1", text)


def _shown(fmt: str, body: dict[str, Any]) -> str:
    """The text a reader of ``fmt`` sees, markup escapes undone."""
    if fmt == "slack":
        texts = [b["text"]["text"] for b in body["blocks"] if "text" in b]
        texts += [e["text"] for b in body["blocks"] for e in b.get("elements", [])]
        return slack_unescape("\n".join(texts))
    if fmt == "discord":
        embeds = [f"{e['title']}\n{e['description']}" for e in body["embeds"]]
        return _markdown_unescape("\n".join([body["content"], *embeds]))
    if fmt == "teams":
        blocks = body["attachments"][0]["content"]["body"]
        return _markdown_unescape("\n".join(b["text"] for b in blocks))
    return _markdown_unescape(str(body["text"]))


def _within_limits(fmt: str, body: dict[str, Any], raw: bytes) -> None:
    if fmt == "slack":
        assert len(body["blocks"]) <= 50
    elif fmt == "discord":
        embeds = body["embeds"]
        assert len(embeds) <= 10 and len(body["content"]) <= 2000
        chars = sum(
            len(e["title"]) + len(e["description"]) + len(e["footer"]["text"]) for e in embeds
        )
        assert chars <= 6000
    elif fmt == "teams":
        assert len(raw) <= 28 * 1024
    else:
        assert len(body["text"]) <= 16383


@pytest.mark.parametrize("fmt", ["slack", "discord", "teams", "mattermost"])
def test_every_story_a_chat_message_leaves_out_is_counted(
    tmp_path: Path, clock: FakeClock, webhook_receiver: WebhookReceiver, fmt: str
) -> None:
    routes = chat_route(webhook_receiver, fmt, ", max_entries: 70") + (
        f"  - {{name: all, file: {{dir: '{tmp_path / 'all'}'}}, max_entries: 500}}"
    )
    cfg = sample_config(
        tmp_path, f"sqlite:///{tmp_path / 'm.db'}", routes, "duplicates: {enabled: false}", {}
    )
    write_feed(tmp_path / "feeds" / "extra.rss", _dispatches(80))
    with open_app(cfg, clock) as app:
        assert cycle(app).sent == 2
    every = json.loads(next((tmp_path / "all").glob("all-*.json")).read_text())
    titles = [e["title"] for g in every["groups"] for e in g["entries"]]
    assert len(titles) == len(set(titles)) == 80
    (request,) = webhook_receiver.wait_for(1)
    body = json.loads(request.body)
    _within_limits(fmt, body, request.body)
    seen = _shown(fmt, body)
    shown = sum(title in seen for title in titles)
    (left,) = map(int, re.findall(r"and (\d+) more", seen))
    assert 0 < shown < 70 and shown + left == 80, (shown, left)
    assert "80 stories" in seen
