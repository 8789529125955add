"""Feed text in a chat message is read as text: no mention, no broken or stolen link."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from monitor.alert.render import CHAT_URL_MAX, chat_url, markdown_text, slack_text
from tests.alert.test_chat import chat_route, slack_links, slack_unescape
from tests.alert.world import cycle, open_app, sample_config, write_feed
from tests.conftest import FakeClock
from tests.receivers import WebhookReceiver

FORMATS = ["slack", "discord", "teams", "mattermost"]
TEXT = "North Korea has sent troops to Russia, Pyongyang and Moscow confirmed."
# Any of these, in any chat payload, can notify a whole channel or a person.
_MENTION = re.compile(r"@(channel|here|all|everyone|desk-lead)\b", re.IGNORECASE)
# What a link target must not hold raw in any of the four dialects.
_RAW = set(' ()<>|\\[]`"{}')


@dataclass(frozen=True)
class Told:
    body: dict[str, Any]  # the chat payload, as posted
    raw: bytes
    stored: list[dict[str, Any]]  # the same stories, as the webhook JSON of a file route gives them


def tell(
    tmp_path: Path,
    clock: FakeClock,
    receiver: WebhookReceiver,
    fmt: str,
    items: list[tuple[str, str, str]],
    outlet: str = "Extra Times",
) -> list[Told]:
    """Each (title, link, text) as its own story, sent at once to a ``fmt`` route."""
    routes = chat_route(receiver, fmt, ", schedule: instant") + (
        f"  - {{name: all, file: {{dir: '{tmp_path / 'all'}'}}, schedule: instant}}"
    )
    cfg = sample_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'm.db'}",
        routes,
        "duplicates: {enabled: false}",
        {"wire.rss": outlet},
    )
    path = tmp_path / "feeds" / "wire.rss"
    write_feed(path, [(f"w-{i}", t, x, datetime(2024, 11, 8)) for i, (t, _, x) in enumerate(items)])
    feed = path.read_text()
    for i, (_, link, _) in enumerate(items):
        feed = feed.replace(f"https://extra.example/w-{i}<", escape(link) + "<")
    path.write_text(feed)
    with open_app(cfg, clock) as app:
        assert cycle(app).sent == 2 * len(items)
    stored = {}
    for file in (tmp_path / "all").glob("all-*.json"):
        (entry,) = [e for g in json.loads(file.read_text())["groups"] for e in g["entries"]]
        stored[entry["title"]] = entry
    told = []
    for request in receiver.wait_for(len(items)):
        body = json.loads(request.body)
        shown = slack_unescape(json.dumps(body, ensure_ascii=False))
        mine = [e for title, e in stored.items() if _words(title) in _words(shown)]
        told.append(Told(body, request.body, mine))
    return told


def _words(text: str) -> str:
    """Letters and digits only: the same title whatever a format escaped or added."""
    return re.sub(r"[^0-9a-z]+", " ", text.lower().replace("\u2060", ""))


def texts(fmt: str, body: dict[str, Any]) -> list[str]:
    """Every piece of text a reader of ``fmt`` sees, as posted."""
    if fmt == "slack":
        found = [b["text"]["text"] for b in body["blocks"] if b["type"] != "header"]
        return found + [e["text"] for b in body["blocks"] for e in b.get("elements", [])]
    if fmt == "discord":
        embeds = [[e["title"], e["description"], e["footer"]["text"]] for e in body["embeds"]]
        return [body["content"], *(t for e in embeds for t in e)]
    if fmt == "teams":
        return [b["text"] for b in body["attachments"][0]["content"]["body"]]
    return [str(body["text"])]


def links(fmt: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """(target, visible text) of every link, read as the service reads it."""
    if fmt == "slack":
        return [link for t in texts(fmt, body) for link in slack_links(t)]
    if fmt == "discord":
        return [(e["url"], e["title"]) for e in body["embeds"] if e.get("url")]
    return [link for text in texts(fmt, body) for link in markdown_links(text)]


def markdown_links(text: str) -> list[tuple[str, str]]:
    """(href, visible text) of each link, as a CommonMark parser reads ``text``."""
    found: list[tuple[str, str]] = []
    for block in MarkdownIt("commonmark").parseInline(text):
        href, shown = None, ""
        for token in block.children or []:
            if token.type == "link_open":
                href, shown = str(token.attrs["href"]), ""
            elif token.type == "link_close" and href is not None:
                found.append((href, shown))
                href = None
            elif href is not None:
                shown += token.content
    return found


def _raw_targets(fmt: str, body: dict[str, Any]) -> list[str]:
    """Link targets as written in the message, before any parser normalises them."""
    if fmt == "slack":
        inner = [m for t in texts(fmt, body) for m in re.findall(r"<([^<>]*)>", t)]
        return [m.partition("|")[0] for m in inner]
    if fmt == "discord":
        return [e["url"] for e in body["embeds"] if e.get("url")]
    # [text](target) or [text](<target>): the title is escaped, so "](" starts a target
    return [m for t in texts(fmt, body) for m in re.findall(r"\]\(<?(.*?)>?\)(?:\s|$| —)", t)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_feed_text_can_mention_a_channel_or_a_person(
    tmp_path: Path, clock: FakeClock, webhook_receiver: WebhookReceiver, fmt: str
) -> None:
    title = "@channel @here North Korean troops reach the Kursk front, @all <!here> \\@everyone"
    snippet = f"@everyone @desk-lead \\@channel {TEXT}"
    (told,) = tell(
        tmp_path,
        clock,
        webhook_receiver,
        fmt,
        [(title, "https://extra.example/nk-1", snippet)],
        outlet="@all Wire <!channel>",
    )
    posted = "\n".join(texts(fmt, told.body))
    assert "Kursk front" in posted and "Wire" in posted
    if fmt in ("slack", "discord"):  # the formats that show snippets
        assert "Pyongyang" in posted
    assert not _MENTION.search(posted), posted
    assert "<!" not in slack_unescape(posted) if fmt != "slack" else "<!" not in posted
    if fmt == "slack":  # Slack must not parse names and links itself either
        objects = [b["text"] for b in told.body["blocks"] if b["type"] == "section"]
        objects += [e for b in told.body["blocks"] for e in b.get("elements", [])]
        assert objects and all(o["verbatim"] is True for o in objects if o["type"] == "mrkdwn")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_link_with_any_character_goes_where_it_says_with_the_title_as_its_text(
    tmp_path: Path, clock: FakeClock, webhook_receiver: WebhookReceiver, fmt: str
) -> None:
    items = [
        ("Troops reach the Kursk front", "https://extra.example/a)b]c|d>e<f\\", TEXT),
        ("Troops [reach] the (Kursk) border", "https://extra.example/a b(c?q=1&r=[2]", TEXT),
        ("Troops reach Kursk in spring", "https://extra.example/x/y\\", TEXT),
        ("Troops reach Kursk by train", "https://extra.example/p_q*r~s`t{u}v", TEXT),
    ]
    told = tell(tmp_path, clock, webhook_receiver, fmt, items)
    assert len(told) == len(items)
    for message in told:
        (entry,) = message.stored
        assert entry["url"].startswith("https://extra.example/")
        (raw,) = _raw_targets(fmt, message.body)
        assert not _RAW & set(raw), raw
        ((target, shown),) = links(fmt, message.body)
        assert unquote(target) == unquote(entry["url"])
        assert shown.replace("\u2060", "").replace("\\", "") == entry["title"].replace("\\", "")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_very_long_link_leaves_the_title_as_plain_text_and_the_message_whole(
    tmp_path: Path, clock: FakeClock, webhook_receiver: WebhookReceiver, fmt: str
) -> None:
    url = "https://extra.example/story?" + "&".join(f"utm_{i}=a%7Cb" for i in range(300))
    title = "North Korean troops & tanks reach the <Kursk> front"
    (told,) = tell(tmp_path, clock, webhook_receiver, fmt, [(title, url, TEXT)])
    (entry,) = told.stored
    assert len(entry["url"]) > 3000
    assert links(fmt, told.body) == []
    posted = "\n".join(texts(fmt, told.body))
    assert "front" in posted
    if fmt in ("slack", "discord"):  # the snippet, after the title
        assert "Pyongyang" in posted
    if fmt == "slack":
        (story,) = [t for t in texts(fmt, told.body) if "Kursk" in t]
        assert len(story) <= 3000
        assert slack_unescape(story).startswith(title)
        assert "<" not in story and ">" not in story  # nothing cut inside a link


@given(st.text(max_size=80), st.sampled_from(["markdown", "slack"]))
def test_any_link_target_is_read_back_whole_in_markdown_and_slack(path: str, dialect: str) -> None:
    url = "https://extra.example/" + path
    target = chat_url(url, dialect)
    assert target is not None and len(target) <= CHAT_URL_MAX
    assert not _RAW & set(target) and target.isascii()
    title = "Troops [reach] the (Kursk) front"
    if dialect == "slack":
        ((back, shown),) = slack_links(f"<{target}|{slack_text(title)}>")
    else:
        ((back, shown),) = markdown_links(f"[{markdown_text(title)}]({target})")
    expected = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", "", url.strip())
    assert unquote(back) == unquote(expected) and shown == title
