"""OPML subscription lists in and out.

Only http(s) feeds the fetcher would fetch are taken from a file: an address the
configured ``network.allow_private`` forbids, however it is spelled, is skipped
with the reason, never stored.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from monitor.core.errors import ConfigError
from monitor.core.files import read_capped
from monitor.core.types import AddressPolicy, FeedInfo
from monitor.fetch.http import refusal

MAX_BYTES = 10 * 2**20


@dataclass(frozen=True)
class Outline:
    url: str
    title: str | None


@dataclass(frozen=True)
class Rejected:
    url: str
    reason: str


def read(path: Path, policy: AddressPolicy) -> tuple[list[Outline], list[Rejected]]:
    raw = read_capped(path, MAX_BYTES)
    try:
        root = ET.fromstring(raw)  # noqa: S314 (expat refuses entity expansion bombs; no external entities)
    except ET.ParseError as exc:
        line, column = exc.position
        raise ConfigError(f"{path}:{line}:{column + 1}: not valid OPML: {exc}") from exc
    found: dict[str, Outline] = {}
    rejected = []
    for node in root.iter("outline"):
        url = (node.get("xmlUrl") or node.get("xmlurl") or "").strip()
        if not url:
            continue
        if not url.lower().startswith(("http://", "https://")):
            rejected.append(Rejected(url, "only http and https feeds can be imported"))
            continue
        refused = refusal(url, policy)
        if refused is not None:
            rejected.append(Rejected(url, refused))
            continue
        found.setdefault(url, Outline(url, node.get("title") or node.get("text")))
    return list(found.values()), rejected


def write(feeds: Iterable[FeedInfo], title: str = "monitor feeds") -> str:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for feed in feeds:
        name = feed.title or feed.url
        ET.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=feed.url)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
