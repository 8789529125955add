"""Digests into words: Jinja2 templates from ``alerts/``, or the user's own directory first.

Every template runs in Jinja2's sandbox (a user's template cannot reach Python
objects' internals). HTML templates are autoescaped whatever their file name;
JSON templates are parsed after rendering, so a broken one is an error naming
the template, never a malformed webhook. Text from feeds reaches templates as
plain strings (escaped where the output is HTML); the one piece of markup we
make ourselves, the snippet with its hits in ``<mark>``, is passed through nh3
with an allowlist of that single tag. Only http(s) links are kept.

Jinja2 is met here only: ``environment`` makes the status page's too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import nh3
from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from monitor.alert.digest import Digest, DigestEntry
from monitor.core import printable
from monitor.core.errors import ConfigError

BUNDLED = Path(__file__).resolve().parents[2] / "alerts"
_SUBJECT_MAX = 200


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str
    json: str  # the payload of the route's webhook format (the generic one for the others)


def environment(
    dirs: Sequence[Path],
    *,
    autoescape: bool,
    filters: Mapping[str, Callable[..., Any]] | None = None,
) -> SandboxedEnvironment:
    """Templates from ``dirs`` (the first that has a name wins), in Jinja2's sandbox;
    a name a template uses but is not given is an error, never an empty string."""
    loader = ChoiceLoader([FileSystemLoader(str(d)) for d in dirs])
    made = SandboxedEnvironment(
        loader=loader, autoescape=autoescape, undefined=StrictUndefined, trim_blocks=True
    )
    made.filters.update(filters or {})
    return made


class Renderer:
    def __init__(self, *dirs: Path | None) -> None:
        """Templates are looked for in ``dirs`` in order, then in the bundled ``alerts/``."""
        search = [d for d in (*dirs, BUNDLED) if d is not None and d.is_dir()]
        self._html = environment(search, autoescape=True)
        self._text = environment(search, autoescape=False, filters=TEXT_FILTERS)

    def render(self, context: dict[str, Any], webhook_format: str = "webhook") -> Rendered:
        return Rendered(
            subject=one_line(self._run(self._text, "subject.txt.j2", context)),
            text=self._run(self._text, "digest.txt.j2", context),
            html=self._run(self._html, "digest.html.j2", context),
            json=self._json(f"{webhook_format}.json.j2", context),
        )

    def _json(self, name: str, context: dict[str, Any]) -> str:
        text = self._run(self._text, name, context)
        try:
            return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
        except ValueError as exc:
            raise ConfigError(f"template {name}: does not render valid JSON: {exc}") from exc

    def _run(self, env: SandboxedEnvironment, name: str, context: dict[str, Any]) -> str:
        try:
            return env.get_template(name).render(context)
        except TemplateError as exc:
            line = getattr(exc, "lineno", None)
            where = f"{name}:{line}" if line else name
            raise ConfigError(f"template {where}: {exc}") from exc
        except Exception as exc:  # a user's template can fail any way (1/0, a bad filter use)
            raise ConfigError(f"template {name}: {type(exc).__name__}: {exc}") from exc


def one_line(text: str) -> str:
    """One line of feed text for a digest (a title, an outlet), of bounded length."""
    return printable.one_line(text, _SUBJECT_MAX)


def header_text(text: str) -> str:
    """``one_line`` for a mail header: nothing in it can decode to a line break.

    An RFC 2047 encoded word (``=?utf-8?q?a=0D=0ABcc:_x?=``, ``=?UTF-8?B?...?=``,
    or two adjacent words that each carry half) holds no control character, but
    the email package decodes it when a header is set and writes the decoded CR/LF
    out as new header lines, and a mail reader would decode it too. Every encoded
    word starts with ``=?``; a space between the two leaves the text readable and
    gives no decoder anything to decode. (Only headers need it: no reader decodes
    encoded words in a body.)
    """
    return one_line(text.replace("=?", "= ?"))


def context(
    digest: Digest,
    *,
    route: str,
    title: str,
    kind: str,
    now: datetime,
    zone: ZoneInfo,
    watchlist_titles: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What templates see; documented in alerts/README.md."""
    titles = watchlist_titles or {}
    groups = [
        {
            "watchlist": group.watchlist,
            "title": titles.get(group.watchlist, group.watchlist),
            "entries": [_entry(e, zone) for e in group.entries],
        }
        for group in digest.groups
    ]
    count = len(digest.entries)
    return {
        "route": route,
        "title": title,
        "kind": kind,
        "generated": _when(now, zone),
        "count": count,
        "more": digest.more,
        "groups": groups,
        "sources": len(digest.outlets),
        "articles": digest.articles,
    }


def _entry(entry: DigestEntry, zone: ZoneInfo) -> dict[str, Any]:
    article = entry.article
    source = one_line(article.source)
    # The other outlets, each once: a second report of the lead outlet is in
    # ``also`` but does not make it another outlet.
    others = [n for n in dict.fromkeys(one_line(s.name) for s in entry.also) if n != source]
    return {
        # One scheme: "s<id>", the story `monitor stories list` shows as #<id>; None
        # for an article in no story (duplicates off, or not compared yet).
        "story": entry.story_key if entry.story_key.startswith("s") else None,
        "article": article.article_id,  # what `monitor explain` takes
        "title": one_line(article.title) or "(untitled)",
        "url": safe_url(article.url),
        "source": source,
        "published": _when(article.published, zone),
        "snippet": article.snippet,
        "snippet_html": highlight(article.snippet, entry.highlights),
        "rules": [{"watchlist": w, "rule": r, "score": round(s, 2)} for w, r, s in entry.rules],
        "matched": list(entry.matched),
        "terms": list(entry.terms[:12]),  # the watchlist's syntax: for programs, not readers
        "score": round(entry.score, 2),
        "is_update": entry.update,
        "also": [
            {
                "name": one_line(s.name),
                "title": one_line(s.title),
                "url": safe_url(s.url),
                "article": s.article,
            }
            for s in entry.also
        ],
        "also_names": others,
        "also_outlets": len(others),
    }


def _when(moment: datetime, zone: ZoneInfo) -> dict[str, str]:
    local = moment.astimezone(zone)
    return {"iso": moment.isoformat(), "local": local.strftime("%Y-%m-%d %H:%M %Z")}


def json_size(value: Any) -> int:
    """Bytes of ``value`` as the compact UTF-8 JSON that is posted."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


# U+2060 WORD JOINER: invisible, and it ends the word "@" starts, so "@here" in feed
# text is no mention in any chat service (a backslash is not enough: Mattermost
# reads \@channel as a mention: its parser splits words on the backslash).
_NO_MENTION = "@\u2060"


def slack_text(text: str) -> str:
    """Slack's mrkdwn escapes: no mentions, links or markup from feeds."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("@", _NO_MENTION)


_MARKDOWN = re.compile(r"([\\`*_\[\]()!#<>|~])")


def markdown_text(text: str) -> str:
    """Markdown (Mattermost, Teams, Discord) escapes: no links, images or mentions."""
    return _MARKDOWN.sub(r"\\\1", text).replace("@", _NO_MENTION)


# Longer links are left out (the title stays, as text): Discord refuses an embed
# URL over 2,048 characters, and a Slack section holds 3,000 in all.
CHAT_URL_MAX = 2000
# Kept as they are in a link target: RFC 3986's characters that no chat dialect
# reads there (quote() adds letters, digits and "_.-~"); "%" keeps the link's
# own escapes. Spaces, ( ) < > [ ] | \ ` { } ^ ", controls and non-ASCII are encoded.
_URL_KEEP = "!#$%&'*+,/:;=?@"
_HOST_ESCAPES = {ord(c): f"%{ord(c):02X}" for c in ' ()<>|\\`{}^"'}


def chat_url(url: str | None, dialect: str = "markdown") -> str | None:
    """A link target every chat dialect reads whole: ``[text](url)`` in Markdown,
    ``<url|text>`` in Slack (``dialect="slack"``: ``&`` escaped as Slack asks).
    ``None`` for a link that is not http(s) or too long to send."""
    safe = safe_url(url)
    if safe is None:
        return None
    safe = printable.without_any_controls(safe)  # as browsers do with tabs and newlines in a URL
    head = len(urlsplit(safe).scheme) + 3 + len(urlsplit(safe).netloc)  # "https://host"
    host = safe[:head].translate(_HOST_ESCAPES)  # "[::1]" and IDNA names stay readable
    target = host + quote(safe[head:], safe=_URL_KEEP, errors="replace")
    if dialect == "slack":
        target = target.replace("&", "&amp;")
    return target if len(target) <= CHAT_URL_MAX else None


def slack_url(url: str | None) -> str | None:
    """``chat_url`` for Slack (the name bundled templates used before it)."""
    return chat_url(url, "slack")


_OPEN_AT_END = re.compile(r"(&[a-z]{0,4}|\\+|@)$")


def chat_cut(text: str, length: int) -> str:
    """``text`` (already escaped for its dialect) in at most ``length`` characters,
    ending with "…" when cut, never inside an escape (``&amp;``, ``\\*``) or
    between an "@" and the joiner that keeps it from mentioning."""
    if len(text) <= length:
        return text
    return _OPEN_AT_END.sub("", text[: max(length - 1, 0)]) + "…"


def safe_url(url: str | None) -> str | None:
    """Only http(s) links reach a template: no javascript:, data: or mailto: from a feed."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def highlight(snippet: str, spans: Sequence[tuple[int, int]]) -> Markup:
    """The snippet escaped, its hits in ``<mark>``, sanitised with an allowlist."""
    parts: list[str] = []
    at = 0
    for start, end in sorted(spans):
        if start < at or end > len(snippet):
            continue  # overlapping or stale spans: leave the text plain
        parts += [
            str(escape(snippet[at:start])),
            "<mark>",
            str(escape(snippet[start:end])),
            "</mark>",
        ]
        at = end
    parts.append(str(escape(snippet[at:])))
    return Markup(nh3.clean("".join(parts), tags={"mark"}, attributes={}))  # noqa: S704


TEXT_FILTERS: dict[str, Callable[..., Any]] = {
    # Chat formats read markup in plain text: a feed's "<!channel>", "@here" or
    # "[x](url)" must arrive as text, not as a mention or a link.
    "slack": slack_text,
    "markdown": markdown_text,
    "chat_url": chat_url,
    "slack_url": slack_url,
    # Chat services limit a message's size: templates measure what they add,
    # and cut text where no escape or link is left half open.
    "json_size": json_size,
    "chat_cut": chat_cut,
}
