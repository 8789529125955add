"""The text of link elements that also carry an address attribute, read from the document.

feedparser reads ``<link uri="at://…">https://…</link>`` (and ``url=``, ``href=``) as the
attribute alone and drops the element's text, which is often the only web address the
entry has (Bluesky bridges write this). The document is read again for that text only
when an entry needs it: at most once per feed, and never for most feeds.
"""

from __future__ import annotations

import lxml.etree

# feedparser takes the address from these attributes (url, then uri, then href).
_ADDRESS_ATTRIBUTES = ("url", "uri", "href")
# Longer than any URL we keep (Limits.url): a text of that size is no link.
_MAX_TEXT = 8_192


class LinkTexts:
    """Maps an address attribute's value to the text of the element that carries it."""

    def __init__(self, document: bytes) -> None:
        self._document = document
        self._texts: dict[str, str] | None = None

    def text_beside(self, address: object) -> str | None:
        """The text of the first link element whose address attribute is ``address``."""
        if not isinstance(address, str):
            return None
        if self._texts is None:
            self._texts = _read_link_texts(self._document)
        return self._texts.get(address.strip())


def _read_link_texts(document: bytes) -> dict[str, str]:
    # Hostile input: no entity is expanded, no DTD or network resource is loaded, and the
    # depth and text sizes stay within libxml2's defaults (huge_tree off). A parser per
    # call: lxml parsers are not to be shared between threads (the pool may use threads).
    parser = lxml.etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True
    )
    try:
        root = lxml.etree.fromstring(document, parser)
    except (lxml.etree.LxmlError, ValueError):
        return {}
    texts: dict[str, str] = {}
    if root is None:  # recover=True answers an empty or hopeless document with no tree
        return texts
    for link in root.iter("{*}link"):
        text = (link.text or "").strip()
        if not text or len(text) > _MAX_TEXT:
            continue
        for name in _ADDRESS_ATTRIBUTES:
            value = link.get(name)
            if value:
                texts.setdefault(value.strip(), text)
    return texts
