"""Deterministic RSS 2.0 feed content for the benchmark server.

Every feed is a pure function of (seed, feed index, entry count), so two runs
with the same parameters serve byte-identical feeds with identical ETags.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from xml.sax.saxutils import escape as xml_escape

from bench.loopback import etag

BASE_TIME = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
DESCRIPTION_CHARS = 1520  # escaped description length per entry: ~36 KB per 20 entries

_PLACES = (
    "Leeds", "Lisbon", "Nairobi", "Osaka", "Quebec", "Valparaiso", "Tromso", "Lagos",
    "Perth", "Krakow", "Dundee", "Austin", "Seville", "Pune", "Bergen", "Hobart",
)  # fmt: skip
_SUBJECTS = (
    "City council", "Regional hospital", "Local school board", "Transit authority",
    "Water utility", "Farmers' union", "University researchers", "Port operator",
    "Housing charity", "Energy regulator", "Police commissioner", "Tech start-up",
    "Museum trustees", "Football club", "Airline", "Health ministry",
)  # fmt: skip
_VERBS = (
    "approves", "rejects", "delays", "announces", "unveils", "defends", "questions",
    "expands", "cuts", "reviews", "launches", "pauses", "backs", "challenges",
)  # fmt: skip
_OBJECTS = (
    "new budget", "flood defence plan", "night bus routes", "pay deal", "wind farm",
    "library closures", "cycle lanes", "tuition rise", "water tariffs", "stadium bid",
    "rail upgrade", "data centre", "school meals scheme", "rent controls", "tram line",
)  # fmt: skip
_TAILS = (
    "after long debate", "amid protests", "despite warnings", "ahead of winter",
    "as costs soar", "in surprise vote", "following review", "for second year",
)  # fmt: skip
_WORDS = (
    "the", "council", "said", "on", "Tuesday", "that", "a", "plan", "would", "cost",
    "residents", "more", "than", "expected", "officials", "warned", "budget", "of",
    "new", "local", "people", "in", "and", "to", "was", "were", "had", "been",
    "month", "report", "figures", "showed", "increase", "decline", "sharp", "year",
    "since", "government", "spokesperson", "told", "reporters", "agreed", "vote",
    "meeting", "project", "delay", "funding", "workers", "union", "strike", "talks",
    "region", "across", "national", "record", "high", "low", "average", "community",
    "leaders", "campaign", "support", "opposition", "critics", "argued", "proposal",
    "service", "users", "data", "analysis", "weeks", "before", "after", "during",
    "which", "could", "may", "also", "however", "despite", "concerns", "about",
)  # fmt: skip
_CATEGORIES = ("Politics", "Business", "Local", "Health", "Transport", "Science", "Sport")


def _sentence(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(9, 18))
    words[0] = words[0].capitalize()
    if rng.random() < 0.3:
        words.insert(rng.randint(1, len(words) - 1), rng.choice(_PLACES))
    return " ".join(words) + "."


def _sentence_pool(seed: int, size: int = 5000) -> list[str]:
    rng = random.Random(f"pool:{seed}")
    return [_sentence(rng) for _ in range(size)]


def _description(rng: random.Random, pool: list[str], feed: int, entry: int) -> str:
    parts: list[str] = []
    size = 0
    while size < DESCRIPTION_CHARS * 0.78:  # escaping adds ~28 %
        sentences = rng.sample(pool, rng.randint(3, 5))
        if rng.random() < 0.4:
            i = rng.randrange(len(sentences))
            sentences[i] = f"<em>{sentences[i]}</em>"
        if rng.random() < 0.3:
            url = f"https://site{feed}.example/story/{rng.randrange(10_000)}"
            sentences.append(f'<a href="{url}">Read more on story {entry}</a>.')
        paragraph = f"<p>{' '.join(sentences)}</p>"
        parts.append(paragraph)
        size += len(paragraph)
    return "\n".join(parts)


def _title(rng: random.Random) -> str:
    return (
        f"{rng.choice(_PLACES)}: {rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} "
        f"{rng.choice(_OBJECTS)} {rng.choice(_TAILS)}"
    )


def render_feed(seed: int, feed: int, entries: int, pool: list[str]) -> tuple[bytes, datetime]:
    """Return the RSS document for one feed and its newest entry's date."""
    rng = random.Random(f"feed:{seed}:{feed}")
    site = f"https://site{feed}.example"
    newest = BASE_TIME - timedelta(minutes=feed * 7)
    items: list[str] = []
    for j in range(entries):
        when = newest - timedelta(hours=j, minutes=rng.randrange(60))
        if j == 0:
            when = newest
        items.append(
            "<item>"
            f"<title>{escape(_title(rng))}</title>"
            f"<link>{site}/story/{j}</link>"
            f'<guid isPermaLink="false">urn:site{feed}.example:story:{j}</guid>'
            f"<pubDate>{format_datetime(when)}</pubDate>"
            f"<category>{rng.choice(_CATEGORIES)}</category>"
            f"<description>{escape(_description(rng, pool, feed, j))}</description>"
            "</item>"
        )
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Site {feed} News</title><link>{site}/</link>"
        f"<description>Latest stories from site {feed}</description>"
        f"<language>en-gb</language><lastBuildDate>{format_datetime(newest)}</lastBuildDate>"
        + "\n".join(items)
        + "</channel></rss>\n"
    )
    return doc.encode(), newest


def render_all(seed: int, feeds: int, entries: int) -> list[tuple[bytes, str, datetime]]:
    """All feeds as (body, etag, last_modified)."""
    pool = _sentence_pool(seed)
    out: list[tuple[bytes, str, datetime]] = []
    for i in range(feeds):
        body, newest = render_feed(seed, i, entries, pool)
        out.append((body, etag(body), newest))
    return out


def article_item(
    title: str, link: str, guid: str, published: datetime, paragraphs: Sequence[str]
) -> str:
    """An RSS 2.0 item of a real article: its paragraphs as escaped HTML in the description."""
    body = "".join(f"<p>{xml_escape(p)}</p>" for p in paragraphs)
    return (
        f"<item><title>{xml_escape(title)}</title><link>{xml_escape(link)}</link>"
        f'<guid isPermaLink="false">{xml_escape(guid)}</guid>'
        f"<pubDate>{format_datetime(published)}</pubDate>"
        f"<description>{xml_escape(body)}</description></item>"
    )


def article_feed(title: str, link: str, description: str, items: Sequence[str]) -> bytes:
    """An RSS 2.0 document on one line around ``items`` (article_item)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>{link}</link>"
        f"<description>{description}</description>{''.join(items)}</channel></rss>"
    ).encode()


def opml(urls: list[str]) -> str:
    outlines = "\n".join(
        f'    <outline type="rss" text="Feed {i}" title="Feed {i}" xmlUrl="{escape(u)}"/>'
        for i, u in enumerate(urls)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n'
        "  <head><title>monitor benchmark feeds</title></head>\n"
        f"  <body>\n{outlines}\n  </body>\n</opml>\n"
    )
