"""Plain text from feed HTML, an article's body, normalised text, and versioned fingerprints.

A fingerprint is ``<kind>:<hex>`` where the hash input starts with a version
tag, so a change of normalisation gets new keys instead of silently mixing them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import lxml.etree
from html_text.html_text import etree_to_text, parse_html

FINGERPRINT_VERSION = "v1"
# XML 1.0 forbids these; PostgreSQL refuses NUL in text.
_INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# XML allows these but they are no text: DEL and the C1 controls (mostly cp1252
# read as Latin-1). A carriage return or NEL is a line break. (Found by fuzzing:
# they reached stored titles and summaries, and so alerts.)
_CONTROLS = re.compile("[\x7f-\x84\x86-\x9f]")
_LINE_BREAKS = re.compile("\r\n?|\x85")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_NOT_WORD = re.compile(r"[\W_]+")
_LOOKS_LIKE_HTML = re.compile(r"<[a-zA-Z/!]|&[#\w]+;")
# Never shown as text. (Cheaper than a full HTML cleaner, which also rewrites links.)
_INVISIBLE = ("script", "style", "noscript", "template", "svg", "param")
# Embedded content: the element is no text, but what the parser put inside it may
# be. lxml's HTML 4 parser does not know <embed> is empty and nests the rest of the
# document in it; <object> holds fallback content meant for readers; an unclosed
# <iframe> swallows the rest of the document as raw text.
_EMBEDDED = ("embed", "object", "iframe")
_MAX_REPARSED = 8
# Phrasing elements: a browser sets no space around them, so "<b>Bold</b>er" is one
# word and "H<sub>2</sub>O" is "H2O". html_text guesses a space between the text of any
# two elements; merged into their parent first, they leave it nothing to guess.
_INLINE = (
    "a", "abbr", "acronym", "b", "bdi", "bdo", "big", "blink", "cite", "code", "data",
    "del", "dfn", "em", "font", "i", "ins", "kbd", "mark", "nobr", "q", "s", "samp",
    "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr",
)  # fmt: skip


def clean(value: str | None, limit: int) -> str:
    """Drop invalid characters, fold spaces, cut at ``limit`` characters."""
    if not value:
        return ""
    value = _CONTROLS.sub("", _INVALID_CHARS.sub("", value))
    value = _LINE_BREAKS.sub("\n", value)
    value = _SPACES.sub(" ", value)
    value = _BLANK_LINES.sub("\n\n", value).strip()
    return value[:limit].rstrip()


def html_to_text(value: str | None, limit: int) -> str:
    """Readable plain text: paragraphs kept as blank lines, markup and scripts gone."""
    if not value:
        return ""
    value = _INVALID_CHARS.sub("", value)
    if not _LOOKS_LIKE_HTML.search(value):
        return clean(value, limit)
    # Parsing is linear in the input; cut far beyond the limit first so a
    # 100 MB summary cannot cost 100 MB of tree.
    value = value[: limit * 4]
    try:
        tree = parse_html(value)
        _unwrap_embedded(tree, value)
        lxml.etree.strip_elements(
            tree, *_INVISIBLE, lxml.etree.Comment, lxml.etree.PI, with_tail=False
        )
        lxml.etree.strip_tags(tree, *_INLINE)
        text = etree_to_text(tree, guess_layout=True)
    except (lxml.etree.LxmlError, ValueError):
        text = re.sub(r"<[^>]*>", " ", value)
    return clean(text, limit)


def _unwrap_embedded(tree: lxml.etree._Element, source: str) -> None:
    """Embedded elements replaced by their content, keeping the text that follows them."""
    frames, reparsed = list(tree.iter("iframe")), 0
    while frames:
        frame = frames.pop()
        swallowed = frame.text or ""
        frame.text = None  # a closed frame's content is fallback no browser shows
        unclosed = swallowed.strip() and source.rstrip().endswith(swallowed.rstrip())
        # Unclosed, its "content" is the rest of the document. Each one costs a parse
        # of that rest, so a few are read again and a pile of them is not.
        if unclosed and reparsed < _MAX_REPARSED:
            reparsed += 1
            body = parse_html(swallowed).find("body")
            if body is not None:
                frame.text = body.text
                frame.extend(list(body))
                frames.extend(frame.iterdescendants("iframe"))
    lxml.etree.strip_tags(tree, *_EMBEDDED)


def article_body(summary: str, content: str) -> str:
    """The text read as an article's body: the content, or the summary when there is none."""
    if not content:
        return summary
    if summary and not content.startswith(summary[:80]):
        return f"{summary}\n\n{content}"
    return content


def normalise(text: str) -> str:
    """Case, accents, punctuation and spacing folded away: the text as a dedup key."""
    if text.isascii():
        return _NOT_WORD.sub(" ", text.lower()).strip()
    # Compatibility forms first ("℠" is "SM"), then case, then accents.
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    stripped = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _NOT_WORD.sub(" ", stripped).strip()


def digest(*parts: str) -> str:
    data = "\x1f".join((FINGERPRINT_VERSION, *parts)).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def fingerprint(kind: str, *parts: str) -> str:
    return f"{kind}:{digest(kind, *parts)}"
