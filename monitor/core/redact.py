"""Secrets out of URLs before they are shown: passwords and the usual token parameters.

A URL is shown in logs, on the status page, by ``monitor check`` and in CLI
tables; none of those may carry ``user:password@`` or ``?token=...``. What must
round-trip (``feeds export``'s OPML, the stored feed URL) keeps the original.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

MASK = "***"

# Query parameters that carry credentials in feed and database URLs.
SECRET_PARAMS = re.compile(
    r"^(?:[\w.-]*[_.-])?(?:token|access[_-]?token|auth[_-]?token|api[_-]?key|apikey|key|"
    r"secret|client[_-]?secret|password|passwd|pwd|pass|auth|authorization|signature|sig|"
    r"session|session[_-]?id|sid|credentials?)$",
    re.IGNORECASE,
)
# A URL inside free text (a log line, an error message): scheme, then no spaces.
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<>\"']+")


def redact_url(url: str) -> str:
    """``url`` with its password and secret query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _redact_userinfo_raw(url)
    netloc = _redacted_netloc(parts)
    query = _redacted_query(parts.query)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Every URL found in ``text`` redacted (for error messages and log values)."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


def _redacted_netloc(parts: SplitResult) -> str:
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return parts.netloc
    user, colon, _password = userinfo.partition(":")
    # A lone userinfo is often the token itself (https://TOKEN@host/).
    return f"{user}:{MASK}@{hostport}" if colon else f"{MASK}@{hostport}"


def _redacted_query(query: str) -> str:
    if not query:
        return query
    pairs = []
    for pair in query.split("&"):
        name, eq, value = pair.partition("=")
        pairs.append(f"{name}={MASK}" if eq and value and SECRET_PARAMS.match(name) else pair)
    return "&".join(pairs)


def _redact_userinfo_raw(url: str) -> str:
    """For a URL urllib cannot split (bad IPv6 literal): mask anything before an ``@``."""
    return re.sub(r"(://)[^/@\s]*@", rf"\1{MASK}@", url)
